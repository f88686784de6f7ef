import { target, glob } from "zako:build";
import { jsLibrary } from "../../build_defs/js.js";

target(jsLibrary("util", glob(["src/**/*.js"], { exclude: ["src/**/*.test.js"] }), ["//libs/core:core"]));
target({ name: "test", kind: "js_test", srcs: glob(["src/*.test.js"]), deps: [":util"] });
