import { target, glob } from "zako:build";
import { tsLibrary, tsTest } from "../../build_defs/ts.ts";

const name: string = "http";

target(tsLibrary(name, glob(["src/**/*.ts"], { exclude: ["src/**/*.test.ts"] }), ["//libs/log:log", "//libs/config:config"]));
target(tsTest("test", glob(["src/**/*.test.ts"]), [`:${name}`]));
