// Type declarations for `zako:package` (alias `zako:project`), for package
// scripts (zako.ts / zako.js).
declare module "zako:package" {
  import type { Author, Pattern, ProjectMeta } from "zako:core";
  import type { SemVer } from "zako:semver";

  export type ConfigValue = boolean | number | string;
  /** What newProject()/project() accept: the metadata and the original's optional fields. */
  export interface Project {
    group?: string;
    artifact?: string;
    /** A semantic version, as text or a SemVer. */
    version?: string | SemVer;
    description?: string;
    /** An SPDX license expression. */
    license?: string;
    authors?: Author[];
    builds?: Pattern;
    rules?: Pattern;
    toolchains?: Pattern;
    /** zako's own: free-form options. */
    options?: { [name: string]: unknown };
  }
  /** The package's metadata as the package script sees it. */
  export interface ProjectInfo extends ProjectMeta {
    readonly description: string;
    readonly license?: string;
    readonly authors?: Author[];
    readonly builds?: { include: string[]; exclude: string[] };
    readonly rules?: { include: string[]; exclude: string[] };
    readonly toolchains?: { include: string[]; exclude: string[] };
    readonly options: { [name: string]: unknown };
    /** The resolved config (manifest defaults, `zako load --config` overrides). */
    readonly config: { readonly [name: string]: ConfigValue };
  }
  /** Records patterns: builds select package directories, rules and toolchains their scripts. */
  export interface ProjectBuilder extends ProjectInfo {
    addBuild(workspace: Pattern | string): void;
    addRule(rule: Pattern | string): void;
    addToolchain(toolchain: Pattern | string): void;
  }
  export interface ProjectFunction extends ProjectInfo {
    /** The metadata. */
    (): ProjectInfo;
    /** The same as newProject(options). */
    (options: Project): ProjectBuilder;
  }
  /** Override the package's fields; returns the builder. */
  export function newProject(options: Project): ProjectBuilder;
  /** The package's metadata; callable as project(options), the original's spelling of newProject. */
  export const project: ProjectFunction;
  export default project;
}
