import { target, glob } from "zako:build";
import { tsLibrary, tsBinary, tsTest } from "../../build_defs/ts.ts";

const deps: string[] = ["//libs/db:db", "//libs/http:http", "//libs/log:log"];

target(tsLibrary("lib", glob(["src/**/*.ts"], { exclude: ["src/main.ts", "src/**/*.test.ts"] }), deps));
target(tsBinary("billing", "src/main.ts", ["//libs/db:db", "//libs/http:http", "//libs/log:log", ":lib"]));
target(tsTest("test", glob(["src/*.test.ts"]), [":lib"]));
target({ name: "image", kind: "container_image", srcs: ["Dockerfile"], deps: [":billing"], attrs: { base: "node:20-slim" } });
