// Defaults shared by every rule helper.
import versions from "./versions.json" with { type: "json" };

// Types only: a library may not import zako:build, and `import type` leaves no import behind.
import type { Data, Source, TargetSpec } from "zako:build";

export type { TargetSpec };
export type Attrs = { [key: string]: Data };
export type Srcs = Source | Source[];

export const defaults: Attrs = {
  node: versions.node,
  typescript: versions.typescript,
};

export function spec(kind: string, name: string, srcs: Srcs, deps: string[] = [], attrs: Attrs = {}): TargetSpec {
  return { name, kind, srcs, deps, attrs: { ...defaults, ...attrs } };
}
