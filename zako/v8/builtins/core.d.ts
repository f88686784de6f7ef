// Type declarations for `zako:core`, available to every context type.
declare module "zako:core" {
  import type { SemVer, Range } from "zako:semver";

  /** What zako's own checks throw (an unsatisfied requireZakoVersion, a missing config). */
  export class ZakoRuntimeError extends Error {
    constructor(message: string);
  }
  /** The version of zako evaluating this script; `${version}` is its text. */
  export const version: SemVer;
  /** Throws ZakoRuntimeError naming the range and this version unless this zako satisfies it. */
  export function requireZakoVersion(requiredVersion: string | Range): void;

  /** git style author sign: "Name <user@host>". */
  export type Author = `${string} <${string}@${string}>`;
  /** A list of globs, or globs to include and exclude. */
  export type Pattern = { include?: string[]; exclude?: string[] } | string[];
  /** The metadata of a zako project. */
  export interface ProjectMeta {
    group: string;
    artifact: string;
    version: SemVer;
  }
  /** One pattern with the includes of both, then the excludes of both. */
  export function appendPattern(appendTo?: Pattern | string, appended?: Pattern | string): { include: string[]; exclude: string[] };

  /** Log at TRACE (shown by `zako load -vv`), to the Python logger `zako.js`. */
  export function trace(...args: unknown[]): void;
  /** Log at DEBUG (shown by `zako load -v`). */
  export function debug(...args: unknown[]): void;
  export function info(...args: unknown[]): void;
  export function warn(...args: unknown[]): void;
  export function error(...args: unknown[]): void;
}
