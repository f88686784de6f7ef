// Helpers for browser bundles; builds on the TypeScript rules.
import { tsLibrary } from "./ts.ts";
import versions from "./versions.json" with { type: "json" };

export function webApp(name: string, srcs: unknown, deps: string[], assets: unknown) {
  return [
    tsLibrary(`${name}-lib`, srcs, deps, { jsx: "react-jsx", react: versions.react }),
    { name, kind: "web_bundle", srcs: assets, deps: [`:${name}-lib`], attrs: { minify: true } },
  ];
}
