import { target, glob } from "zako:build";
import { tsLibrary, tsTest } from "../../build_defs/ts.ts";

const name: string = "log";

target(tsLibrary(name, glob(["src/**/*.ts"], { exclude: ["src/**/*.test.ts"] }), ["//libs/core:core"]));
target(tsTest("test", glob(["src/**/*.test.ts"]), [`:${name}`]));
