import { target, glob } from "zako:build";
import { tsLibrary, tsBinary, tsTest } from "../../build_defs/ts.ts";

const deps: string[] = ["//libs/http:http", "//libs/auth:auth"];

target(tsLibrary("lib", glob(["src/**/*.ts"], { exclude: ["src/main.ts", "src/**/*.test.ts"] }), deps));
target(tsBinary("gateway", "src/main.ts", ["//libs/http:http", "//libs/auth:auth", ":lib"]));
target(tsTest("test", glob(["src/*.test.ts"]), [":lib"]));
target({ name: "image", kind: "container_image", srcs: ["Dockerfile"], deps: [":gateway"], attrs: { base: "node:20-slim" } });
