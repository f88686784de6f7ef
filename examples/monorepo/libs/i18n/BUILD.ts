import { target, glob } from "zako:build";
import { tsLibrary, tsTest } from "../../build_defs/ts.ts";

const name: string = "i18n";

target(tsLibrary(name, glob(["src/**/*.ts"], { exclude: ["src/**/*.test.ts"] }), ["//libs/core:core"]));
target(tsTest("test", glob(["src/**/*.test.ts"]), [`:${name}`]));
target({ name: "locales", kind: "filegroup", srcs: glob(["locales/*.json"]), deps: [] });
