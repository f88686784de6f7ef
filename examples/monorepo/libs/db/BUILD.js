import { target, glob } from "zako:build";
import { jsLibrary } from "../../build_defs/js.js";

target(jsLibrary("db", glob(["src/**/*.js"], { exclude: ["src/**/*.test.js"] }), ["//libs/config:config", "//libs/log:log"]));
target({ name: "test", kind: "js_test", srcs: glob(["src/*.test.js"]), deps: [":db"] });
target({ name: "migrations", kind: "filegroup", srcs: glob(["migrations/*.sql"]), deps: [] });
