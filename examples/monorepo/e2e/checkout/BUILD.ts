import { target, glob } from "zako:build";
import { tsTest } from "../../build_defs/ts.ts";

target(tsTest("checkout", glob(["src/**/*.test.ts"]), ["//apps/web:web", "//services/api:api"]));
