// Type declarations for `zako:build`, for build scripts (BUILD.ts / BUILD.js).
declare module "zako:build" {
  /** A source pattern the host expands after evaluation. */
  export interface GlobPattern {
    readonly include: readonly string[];
    readonly exclude: readonly string[];
  }
  export type Source = string | GlobPattern;
  export type Data = null | boolean | number | string | Data[] | { [key: string]: Data };
  export interface TargetSpec {
    /** Letters, digits and `_ - . +`; unique within the package. */
    name: string;
    kind: string;
    srcs?: Source | Source[];
    /** Labels: ":name" in this package, "//pkg:name" elsewhere. */
    deps?: string | string[];
    attrs?: { [key: string]: Data };
  }
  /** Declare a target; returns its package-relative label (":name"). */
  export function target(spec: TargetSpec): string;
  /** glob("src/**" + "/*.c", { exclude: ["src/gen/**"] }) */
  export function glob(include: string | string[], options?: { exclude?: string | string[] }): GlobPattern;
}
