// Defaults shared by every rule helper.
import versions from "./versions.json" with { type: "json" };

export type Attrs = Record<string, unknown>;

export interface TargetSpec {
  name: string;
  kind: string;
  srcs?: unknown;
  deps?: string[];
  attrs?: Attrs;
}

export const defaults: Attrs = {
  node: versions.node,
  typescript: versions.typescript,
};

export function spec(kind: string, name: string, srcs: unknown, deps: string[] = [], attrs: Attrs = {}): TargetSpec {
  return { name, kind, srcs, deps, attrs: { ...defaults, ...attrs } };
}
