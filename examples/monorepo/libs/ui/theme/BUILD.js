import { target, glob } from "zako:build";
import { jsLibrary } from "../../../build_defs/js.js";

target(jsLibrary("theme", glob(["src/**/*.js"], { exclude: ["src/**/*.test.js"] }), []));
target({ name: "test", kind: "js_test", srcs: glob(["src/*.test.js"]), deps: [":theme"] });
