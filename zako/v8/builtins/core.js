// zako:core -- available to every context.
import { SemVer, Range, satisfies } from "zako:semver";

const host = import.meta.host;

/** What zako's own checks throw: a build file asked for something this
 * zako cannot give (a version range it does not satisfy, a config it lacks). */
export class ZakoRuntimeError extends Error {
  constructor(message) {
    super(message);
    this.name = "ZakoRuntimeError";
  }
}

/** The zako version evaluating this script, as a SemVer (`${version}` is its text). */
export const version = new SemVer(host.version);
Object.defineProperty(version, "toJSON", { value: () => version.toString() });

/** Throws ZakoRuntimeError naming the range and this version unless this
 * zako satisfies `range` (node-semver range syntax, or a Range). */
export function requireZakoVersion(range) {
  let parsed;
  try {
    parsed = range instanceof Range ? range : new Range(range);
  } catch (e) {
    throw new ZakoRuntimeError(`requireZakoVersion(): ${JSON.stringify(String(range))} is not a version range: ${e.message}`);
  }
  if (!satisfies(version, parsed)) {
    throw new ZakoRuntimeError(`this project requires zako ${parsed.raw || parsed.range}, but this is zako ${version}`);
  }
}

function patternParts(p, what) {
  if (p === undefined || p === null) return { include: [], exclude: [] };
  if (typeof p === "string") return { include: [p], exclude: [] };
  const strings = (list, part) => {
    if (list === undefined) return [];
    if (!Array.isArray(list) || !list.every((s) => typeof s === "string" && s.length > 0)) {
      throw new TypeError(`${what}: ${part} must be an array of non-empty glob strings, got ${JSON.stringify(list)}`);
    }
    return list.slice();
  };
  if (Array.isArray(p)) return { include: strings(p, "a pattern"), exclude: [] };
  if (typeof p === "object") {
    for (const key of Object.keys(p)) {
      if (key !== "include" && key !== "exclude") {
        throw new TypeError(`${what}: unknown pattern key ${JSON.stringify(key)} (keys: include, exclude)`);
      }
    }
    return { include: strings(p.include, "include"), exclude: strings(p.exclude, "exclude") };
  }
  throw new TypeError(`${what}: a pattern is a glob string, an array of globs or {include, exclude}, got ${JSON.stringify(p)}`);
}

/** One pattern holding both: includes of `a` then `b`, excludes of `a` then `b`. */
export function appendPattern(appendTo, appended) {
  const a = patternParts(appendTo, "appendPattern()");
  const b = patternParts(appended, "appendPattern()");
  return { include: a.include.concat(b.include), exclude: a.exclude.concat(b.exclude) };
}

// SemVer objects log as their text, not as their fields.
const text = (args) => args.map((a) => (a instanceof SemVer ? a.toString() : a));

/** Logged at TRACE (shown with -vv), to the Python logger `zako.js`. */
export function trace(...args) {
  host.log("trace", text(args));
}
/** Logged at DEBUG (shown with -v). */
export function debug(...args) {
  host.log("debug", text(args));
}
export function info(...args) {
  host.log("info", text(args));
}
export function warn(...args) {
  host.log("warn", text(args));
}
export function error(...args) {
  host.log("error", text(args));
}
