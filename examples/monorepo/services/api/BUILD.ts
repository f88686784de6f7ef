import { target, glob } from "zako:build";
import { tsLibrary, tsBinary, tsTest } from "../../build_defs/ts.ts";

const deps: string[] = ["//libs/http:http", "//libs/auth:auth", "//libs/db:db"];

target(tsLibrary("lib", glob(["src/**/*.ts"], { exclude: ["src/main.ts", "src/**/*.test.ts"] }), deps));
target(tsBinary("api", "src/main.ts", ["//libs/http:http", "//libs/auth:auth", "//libs/db:db", ":lib"]));
target(tsTest("test", glob(["src/*.test.ts"]), [":lib"]));
target({ name: "image", kind: "container_image", srcs: ["Dockerfile"], deps: [":api"], attrs: { base: "node:20-slim" } });
