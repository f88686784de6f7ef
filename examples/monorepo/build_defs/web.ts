// Helpers for browser bundles; builds on the TypeScript rules.
import { tsLibrary } from "./ts.ts";
import type { Srcs, TargetSpec } from "./common.ts";
import versions from "./versions.json" with { type: "json" };
import { getConfig } from "zako:context";

export function webApp(name: string, srcs: Srcs, deps: string[], assets: Srcs): TargetSpec[] {
  return [
    tsLibrary(`${name}-lib`, srcs, deps, { jsx: "react-jsx", react: versions.react }),
    { name, kind: "web_bundle", srcs: assets, deps: [`:${name}-lib`], attrs: { minify: getConfig("minify") } },
  ];
}
