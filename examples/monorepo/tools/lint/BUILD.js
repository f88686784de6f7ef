import { target, glob } from "zako:build";
import { jsBinary } from "../../build_defs/js.js";

target(jsBinary("lint", "src/main.js", ["//libs/util:util"]));
target({ name: "rules", kind: "js_library", srcs: glob(["src/*.js"], { exclude: ["src/main.js"] }), deps: [] });
