import { target, glob } from "zako:build";
import { tsLibrary, tsTest } from "../../build_defs/ts.ts";

const name: string = "auth";

target(tsLibrary(name, glob(["src/**/*.ts"], { exclude: ["src/**/*.test.ts"] }), ["//libs/http:http", "//libs/db:db"]));
target(tsTest("test", glob(["src/**/*.test.ts"]), [`:${name}`]));
