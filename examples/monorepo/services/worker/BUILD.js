import { target, glob } from "zako:build";
import { jsLibrary, jsBinary } from "../../build_defs/js.js";

target(jsLibrary("jobs", glob(["src/*.js"], { exclude: ["src/main.js", "src/*.test.js"] }), ["//libs/db:db", "//libs/util:util"]));
target(jsBinary("worker", "src/main.js", [":jobs", "//libs/log:log"]));
