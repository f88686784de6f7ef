// Type declarations for `zako:semver`, available to every context type:
// node-semver's API with node-semver 7.3.5's behaviour (docs/semver.md).
declare module "zako:semver" {
  /** `loose`: accept `v`/`=` prefixes, leading zeros, `1.2.3beta`;
   * `includePrerelease`: let ranges match prereleases of any x.y.z;
   * `rtl`: `coerce` takes the right-most version in the text. A bare
   * boolean means `{ loose: boolean }`. */
  export interface Options {
    loose?: boolean;
    includePrerelease?: boolean;
    rtl?: boolean;
  }
  export type OptionsArg = Options | boolean;
  export type ReleaseType = "major" | "premajor" | "minor" | "preminor" | "patch" | "prepatch" | "prerelease";
  export type Operator = "===" | "!==" | "" | "=" | "==" | "!=" | ">" | ">=" | "<" | "<=";

  /** The semver.org specification version implemented: "2.0.0". */
  export const SEMVER_SPEC_VERSION: string;

  export class SemVer {
    /** Throws `TypeError` ("Invalid Version: ...") for text that is not a version. */
    constructor(version: string | SemVer, options?: OptionsArg);
    raw: string;
    loose: boolean;
    includePrerelease: boolean;
    options: Options;
    /** "1.2.3-beta.1" (no build metadata). */
    version: string;
    major: number;
    minor: number;
    patch: number;
    prerelease: ReadonlyArray<string | number>;
    build: ReadonlyArray<string>;
    format(): string;
    toString(): string;
    /** -1, 0 or 1; build metadata ignored. */
    compare(other: string | SemVer): -1 | 0 | 1;
    compareMain(other: string | SemVer): -1 | 0 | 1;
    comparePre(other: string | SemVer): -1 | 0 | 1;
    compareBuild(other: string | SemVer): -1 | 0 | 1;
    /** Bumps in place; throws `Error` for an unknown release type. */
    inc(release: ReleaseType | "pre", identifier?: string): SemVer;
  }

  export function parse(version: string | SemVer | null | undefined, options?: OptionsArg): SemVer | null;
  export function valid(version: string | SemVer | null | undefined, options?: OptionsArg): string | null;
  export function clean(version: string, options?: OptionsArg): string | null;
  export function inc(
    version: string | SemVer,
    release: ReleaseType,
    options?: OptionsArg,
    identifier?: string,
  ): string | null;
  export function inc(version: string | SemVer, release: ReleaseType, identifier?: string): string | null;
  /** The most significant part that differs ("major", "preminor", ...), or null when equal. */
  export function diff(v1: string | SemVer, v2: string | SemVer): ReleaseType | "" | null;
  export function major(version: string | SemVer, options?: OptionsArg): number;
  export function minor(version: string | SemVer, options?: OptionsArg): number;
  export function patch(version: string | SemVer, options?: OptionsArg): number;
  export function prerelease(version: string | SemVer, options?: OptionsArg): ReadonlyArray<string | number> | null;

  export function compare(v1: string | SemVer, v2: string | SemVer, options?: OptionsArg): -1 | 0 | 1;
  export function rcompare(v1: string | SemVer, v2: string | SemVer, options?: OptionsArg): -1 | 0 | 1;
  export function compareLoose(v1: string | SemVer, v2: string | SemVer): -1 | 0 | 1;
  export function compareBuild(v1: string | SemVer, v2: string | SemVer, options?: OptionsArg): -1 | 0 | 1;
  export function compareIdentifiers(a: string | number, b: string | number): -1 | 0 | 1;
  export function rcompareIdentifiers(a: string | number, b: string | number): -1 | 0 | 1;
  /** Sort in place (build metadata breaks ties) and return the list. */
  export function sort<T extends string | SemVer>(list: T[], options?: OptionsArg): T[];
  export function rsort<T extends string | SemVer>(list: T[], options?: OptionsArg): T[];

  export function gt(v1: string | SemVer, v2: string | SemVer, options?: OptionsArg): boolean;
  export function gte(v1: string | SemVer, v2: string | SemVer, options?: OptionsArg): boolean;
  export function lt(v1: string | SemVer, v2: string | SemVer, options?: OptionsArg): boolean;
  export function lte(v1: string | SemVer, v2: string | SemVer, options?: OptionsArg): boolean;
  export function eq(v1: string | SemVer, v2: string | SemVer, options?: OptionsArg): boolean;
  export function neq(v1: string | SemVer, v2: string | SemVer, options?: OptionsArg): boolean;
  /** Throws `TypeError` ("Invalid operator: ...") for an unknown operator. */
  export function cmp(v1: string | SemVer, operator: Operator, v2: string | SemVer, options?: OptionsArg): boolean;
  /** The first (or with `rtl` the last) run of up to three numbers as a version: "v2" -> 2.0.0. */
  export function coerce(version: string | number | SemVer | null | undefined, options?: Options): SemVer | null;

  export class Comparator {
    /** The empty comparator's `semver`: matches every version. */
    static readonly ANY: unique symbol;
    /** Throws `TypeError` ("Invalid comparator: ...") for bad text. */
    constructor(comp: string | Comparator, options?: OptionsArg);
    semver: SemVer | typeof Comparator.ANY;
    operator: "" | ">" | ">=" | "<" | "<=";
    value: string;
    loose: boolean;
    options: Options;
    parse(comp: string): void;
    test(version: string | SemVer): boolean;
    intersects(comp: Comparator, options?: OptionsArg): boolean;
    toString(): string;
  }

  export class Range {
    /** Throws `TypeError` ("Invalid SemVer Range: ...") when nothing parses. */
    constructor(range: string | Range | Comparator, options?: OptionsArg);
    /** The normalized text: comparator sets joined by "||". */
    range: string;
    raw: string;
    loose: boolean;
    includePrerelease: boolean;
    options: Options;
    /** Each `||` alternative as the comparators that must all hold. */
    set: ReadonlyArray<ReadonlyArray<Comparator>>;
    format(): string;
    toString(): string;
    parseRange(range: string): ReadonlyArray<Comparator>;
    test(version: string | SemVer): boolean;
    intersects(range: Range, options?: OptionsArg): boolean;
  }

  export function satisfies(version: string | SemVer, range: string | Range, options?: OptionsArg): boolean;
  export function toComparators(range: string | Range, options?: OptionsArg): string[][];
  export function maxSatisfying<T extends string | SemVer>(
    versions: ReadonlyArray<T>,
    range: string | Range,
    options?: OptionsArg,
  ): T | null;
  export function minSatisfying<T extends string | SemVer>(
    versions: ReadonlyArray<T>,
    range: string | Range,
    options?: OptionsArg,
  ): T | null;
  export function minVersion(range: string | Range, options?: OptionsArg): SemVer | null;
  /** The normalized range ("*" for any), or null when invalid. */
  export function validRange(range: string | Range | null | undefined, options?: OptionsArg): string | null;
  export function outside(version: string | SemVer, range: string | Range, hilo: ">" | "<", options?: OptionsArg): boolean;
  export function gtr(version: string | SemVer, range: string | Range, options?: OptionsArg): boolean;
  export function ltr(version: string | SemVer, range: string | Range, options?: OptionsArg): boolean;
  export function intersects(r1: string | Range, r2: string | Range, options?: OptionsArg): boolean;
  /** A shorter range admitting the same members of `versions` (sorted in place), or `range`. */
  export function simplifyRange(versions: string[], range: string | Range, options?: OptionsArg): string | Range;
  export function subset(sub: string | Range, dom: string | Range, options?: Options): boolean;
}
