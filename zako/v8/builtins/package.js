// zako:package -- package scripts (zako.ts / zako.js); `zako:project` is its
// alias. `project` reads as the package's metadata (from the manifest the
// host passes as executionContext.project); `newProject(options)` -- or
// `project(options)`, the original's spelling -- overrides fields and
// returns a builder whose addBuild/addRule/addToolchain record patterns.
import { SemVer } from "zako:semver";
import { appendPattern } from "zako:core";

const host = import.meta.host;
const STRINGS = ["group", "artifact", "description", "license"];
const PATTERNS = ["builds", "rules", "toolchains"];
const FIELDS = ["group", "artifact", "version", "description", "license", "authors", ...PATTERNS, "options"];
const AUTHOR = /^[^<>]*\S\s+<[^<>\s@]+@[^<>\s@]+>$/;
const SHORT = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))?$/;

const inputs = host.inputs && typeof host.inputs === "object" ? host.inputs.project : undefined;
const manifest = inputs && typeof inputs === "object" ? host.data(inputs, "executionContext.project") : {};

// The record the host reads back: the fields every later script sees. The
// newer fields appear only once they have a value, so a script that sets
// none of them records what it always did.
const state = {
  group: manifest.group ?? null,
  artifact: manifest.artifact ?? null,
  version: manifest.version ?? null,
  description: manifest.description ?? null,
  options: manifest.options ?? {},
  location: null,
};
for (const key of ["license", "authors", ...PATTERNS]) {
  if (manifest[key] !== undefined && manifest[key] !== null) state[key] = manifest[key];
}
host.declare("project", state);
const config = Object.freeze(manifest.config && typeof manifest.config === "object" ? manifest.config : {});

// A version as a SemVer that leaves V8 (a result, a log line) as its text.
// A short manifest version ("1", "1.2", a zako extension) reads as
// 1.0.0 / 1.2.0 but keeps its own text.
function semver(text, what) {
  if (text === null || text === undefined) return null;
  if (text instanceof SemVer) return text;
  let v;
  try {
    v = new SemVer(text);
  } catch (e) {
    if (typeof text !== "string" || !SHORT.test(text)) {
      throw new TypeError(`${what}: version ${JSON.stringify(text)} is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.3)`);
    }
    const parts = text.split(".");
    while (parts.length < 3) parts.push("0");
    v = new SemVer(parts.join("."));
    Object.defineProperty(v, "toString", { value: () => text });
  }
  Object.defineProperty(v, "toJSON", { value: () => v.toString() });
  return v;
}

function pattern(value, what) {
  try {
    return appendPattern(undefined, value); // validates, and copies
  } catch (e) {
    throw new TypeError(`${what}: ${e.message.replace(/^appendPattern\(\): /, "")}`);
  }
}

function check(field, value, what) {
  if (STRINGS.includes(field)) {
    if (typeof value !== "string") throw new TypeError(`${what}: ${field} must be a string, got ${JSON.stringify(value)}`);
    return value;
  }
  if (field === "version") {
    return semver(typeof value === "string" || value instanceof SemVer ? value : JSON.stringify(value), what).toString();
  }
  if (field === "authors") {
    if (!Array.isArray(value) || !value.every((a) => typeof a === "string" && AUTHOR.test(a))) {
      throw new TypeError(`${what}: authors must be an array of "Name <user@host>" strings, got ${JSON.stringify(value)}`);
    }
    return value.slice();
  }
  if (PATTERNS.includes(field)) return pattern(value, `${what}: ${field}`);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${what}: options must be an object, got ${JSON.stringify(value)}`);
  }
  return host.data(value, `${what}: options`);
}

function apply(options, what) {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`${what} takes an object of fields (${FIELDS.join(", ")}), got ${JSON.stringify(options)}`);
  }
  const next = {};
  const unknown = [];
  for (const key of Object.keys(options)) {
    if (!FIELDS.includes(key)) {
      unknown.push(key);
      continue;
    }
    if (options[key] !== undefined) next[key] = check(key, options[key], what);
  }
  // As the original (and as zako's manifest): an unknown field is ignored,
  // loudly -- the original's own scripts pass fields it has since dropped.
  for (const key of unknown) {
    const at = host.location();
    host.log("warn", [`${at ? at + ": " : ""}${what}: unknown field ${JSON.stringify(key)} is ignored (fields: ${FIELDS.join(", ")})`]);
  }
  for (const field of PATTERNS) {
    if (next[field] !== undefined) {
      base[field] = next[field];
      next[field] = added[field] === undefined ? next[field] : appendPattern(next[field], added[field]);
    }
  }
  Object.assign(state, next); // all fields checked first: a bad call changes nothing
  state.location = host.location();
}

// As the original: the patterns a field was given (manifest or options)
// plus every one added, whatever the order of the calls.
const base = {};
const added = {};
for (const field of PATTERNS) if (state[field] !== undefined) base[field] = state[field];

function add(field, value, what) {
  added[field] = appendPattern(added[field], pattern(value, what));
  state[field] = appendPattern(base[field], added[field]);
}

function readField(field) {
  if (field === "version") return semver(state.version, "project.version");
  if (field === "options") return host.data(state.options, "options");
  if (field === "authors" || PATTERNS.includes(field)) {
    return state[field] === undefined ? undefined : host.data(state[field], field);
  }
  return state[field] ?? undefined;
}

function defineFields(target) {
  for (const field of FIELDS) {
    Object.defineProperty(target, field, { get: () => readField(field), enumerable: true });
  }
  Object.defineProperty(target, "config", { get: () => config, enumerable: true });
  return target;
}

const builder = defineFields({
  addBuild(p) {
    add("builds", p, "addBuild()");
  },
  addRule(p) {
    add("rules", p, "addRule()");
  },
  addToolchain(p) {
    add("toolchains", p, "addToolchain()");
  },
});
Object.freeze(builder);

/** Override fields of the package; returns the builder. */
export function newProject(options) {
  apply(options, "newProject()");
  return builder;
}

/** The package's metadata; called with options, the same as newProject;
 * called with nothing, the metadata itself. */
export function project(options) {
  if (options === undefined) return project;
  apply(options, "project()");
  return builder;
}
defineFields(project);

export default project;
