// zako:build -- build scripts (BUILD.ts / BUILD.js): declare targets.
const host = import.meta.host;
const NAME = /^[A-Za-z0-9_\-.+]+$/;
const globs = new WeakSet();
const seen = new Map(); // name -> location of its first declaration

function stringList(value, what, allowEmpty = true) {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || !list.every((s) => typeof s === "string" && s.length > 0)) {
    throw new TypeError(`${what} must be a non-empty string or an array of them, got ${JSON.stringify(value)}`);
  }
  if (!allowEmpty && list.length === 0) throw new TypeError(`${what} must name at least one pattern`);
  return list.slice();
}

/**
 * A source pattern the host expands after evaluation:
 * glob("src/**\/*.c", {exclude: ["src/gen/**"]}) -> {include, exclude}.
 */
export function glob(include, options = {}) {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`glob(): options must be an object like {exclude: [...]}, got ${JSON.stringify(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== "exclude") throw new TypeError(`glob(): unknown option ${JSON.stringify(key)} (options: exclude)`);
  }
  const pattern = {
    include: stringList(include, "glob() include", false),
    exclude: options.exclude === undefined ? [] : stringList(options.exclude, "glob() exclude"),
  };
  globs.add(pattern);
  return Object.freeze(pattern);
}

function sources(value, where) {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((s, i) => {
    if (typeof s === "string" && s.length > 0) return s;
    if (globs.has(s)) return { include: s.include.slice(), exclude: s.exclude.slice() };
    throw new TypeError(`${where}: srcs[${i}] must be a path string or a glob(), got ${JSON.stringify(s)}`);
  });
}

/** Declare a target; returns its label relative to this package (":name"). */
export function target(spec) {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new TypeError(`target() takes {name, kind, srcs, deps, attrs}, got ${JSON.stringify(spec)}`);
  }
  const { name, kind, srcs, deps, attrs } = spec;
  for (const key of Object.keys(spec)) {
    if (!["name", "kind", "srcs", "deps", "attrs"].includes(key)) {
      throw new TypeError(`target(${JSON.stringify(name)}): unknown field ${JSON.stringify(key)} (fields: name, kind, srcs, deps, attrs)`);
    }
  }
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new TypeError(`target(): invalid name ${JSON.stringify(name)}: use letters, digits and _ - . +`);
  }
  const where = `target(${JSON.stringify(name)})`;
  if (typeof kind !== "string" || kind.length === 0) {
    throw new TypeError(`${where}: kind must be a non-empty string, got ${JSON.stringify(kind)}`);
  }
  const location = host.location();
  if (seen.has(name)) {
    throw new Error(`duplicate target ${JSON.stringify(name)}: declared at ${seen.get(name)} and again at ${location}`);
  }
  const record = {
    name,
    kind,
    srcs: sources(srcs, where),
    deps: deps === undefined ? [] : stringList(deps, `${where}: deps`),
    attrs: attrs === undefined ? {} : host.data(attrs, `${where}: attrs`),
    location,
  };
  if (record.attrs === null || typeof record.attrs !== "object" || Array.isArray(record.attrs)) {
    throw new TypeError(`${where}: attrs must be an object, got ${JSON.stringify(attrs)}`);
  }
  seen.set(name, location);
  host.declare("targets", record);
  return ":" + name;
}
