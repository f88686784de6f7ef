import { target, glob } from "zako:build";
import { webApp } from "../../build_defs/web.ts";

for (const t of webApp("admin", glob(["src/**/*.ts"], { exclude: ["**/*.test.ts"] }), ["//libs/ui/components:components", "//libs/auth:auth"], glob(["public/**"], { exclude: ["public/robots.txt"] }))) {
  target(t);
}
