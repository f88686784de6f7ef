import { target, glob } from "zako:build";
import { webApp } from "../../build_defs/web.ts";

for (const t of webApp("mobile", glob(["src/**/*.ts"], { exclude: ["**/*.test.ts"] }), ["//libs/ui/components:components", "//libs/i18n:i18n"], glob(["public/**"], { exclude: ["public/robots.txt"] }))) {
  target(t);
}
