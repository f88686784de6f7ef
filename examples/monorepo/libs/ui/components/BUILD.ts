import { target, glob } from "zako:build";
import { tsLibrary, tsTest } from "../../../build_defs/ts.ts";

const name: string = "components";

target(tsLibrary(name, glob(["src/**/*.ts"], { exclude: ["src/**/*.test.ts"] }), ["//libs/ui/theme:theme", "//libs/i18n:i18n"]));
target(tsTest("test", glob(["src/**/*.test.ts"]), [`:${name}`]));
