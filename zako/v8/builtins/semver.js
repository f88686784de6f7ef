// zako:semver -- available to every context. node-semver's API with the
// behaviour of node-semver 7.3.5 (what Debian bookworm ships, and what
// tests/test_semver_differential.py compares against), written for zako from
// the semver 2.0.0 spec and node-semver's documented behaviour. Where 7.3.5
// has a quirk (whitespace accepted here but not there, a loose version that a
// strict comparison re-parses and rejects) we keep it: a range must mean the
// same here as in the npm ecosystem. docs/semver.md lists the differences.
//
// Nothing global is touched and nothing outlives this module instance: build
// files run in a locked-down realm and every evaluation gets a fresh
// instance, so the memos below (the regexp tables, parsed ranges) belong to
// one evaluation.

export const SEMVER_SPEC_VERSION = "2.0.0";

const MAX_LENGTH = 256;
const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;
const MAX_COERCE_DIGITS = 16;

// ---------------------------------------------------------------------------
// Grammar. Strict follows semver.org; loose also takes leading zeros, `=`/`v`
// and whitespace before the version, and a prerelease without its `-`.

const NUM = "0|[1-9]\\d*";
const NUM_LOOSE = "[0-9]+";
const ALNUM_ID = "\\d*[a-zA-Z-][a-zA-Z0-9-]*";
const BUILD_ID = "[0-9A-Za-z-]+";
const BUILD = `(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))`;
const GTLT = "((?:<|>)?=?)";

function dialect(num, preDash) {
  const preId = `(?:${num}|${ALNUM_ID})`;
  const pre = `(?:${preDash}(${preId}(?:\\.${preId})*))`;
  const main = `(${num})\\.(${num})\\.(${num})`;
  const xid = `${num}|x|X|\\*`;
  // A partial version: `1`, `1.x`, `1.2.*`, `1.2.3-pre+build`.
  const xplain = `[v=\\s]*(${xid})(?:\\.(${xid})(?:\\.(${xid})(?:${pre})?${BUILD}?)?)?`;
  return { pre, main, xplain };
}

function grammar(plain, d) {
  return {
    version: new RegExp(`^${plain}$`),
    comparator: new RegExp(`^${GTLT}\\s*(${plain})$|^$`),
    hyphen: new RegExp(`^\\s*(${d.xplain})\\s+-\\s+(${d.xplain})\\s*$`),
    xrange: new RegExp(`^${GTLT}\\s*${d.xplain}$`),
    tilde: new RegExp(`^(?:~>?)${d.xplain}$`),
    caret: new RegExp(`^(?:\\^)${d.xplain}$`),
  };
}

// The regexp tables are built on first use, not at instantiation: every
// evaluation instantiates this module afresh (zako:core imports it) and most
// never parse a range. The memo is this instance's, like the module.
let tables = null;

function buildTables() {
  const strict = dialect(NUM, "-");
  const loose = dialect(NUM_LOOSE, "-?");
  const plain = `v?${strict.main}${strict.pre}?${BUILD}?`;
  const plainLoose = `[v=\\s]*${loose.main}${loose.pre}?${BUILD}?`;
  return {
    strict: grammar(plain, strict),
    loose: grammar(plainLoose, loose),
    // Range text clean-up, the same whichever dialect: glue operators to
    // their versions (`> 1.2.3` -> `>1.2.3`; GLUE_TILDE/GLUE_CARET below do
    // `~ 1` -> `~1`, `^ 1` -> `^1`).
    glueOperator: new RegExp(`(\\s*)${GTLT}\\s*(${plainLoose}|${strict.xplain})`, "g"),
    coerce: new RegExp(COERCE_SOURCE),
  };
}

const getTables = () => tables ?? (tables = buildTables());
const gram = (options) => (options.loose ? getTables().loose : getTables().strict);

// A plain `MAJOR.MINOR.PATCH`, optionally `v`-prefixed: both dialects'
// version grammars accept every such text with these same groups (and no
// prerelease or build), so it is matched without building the tables.
const SIMPLE_VERSION = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

const GLUE_TILDE = /(\s*)(?:~>?)\s+/g;
const GLUE_CARET = /(\s*)(?:\^)\s+/g;
const STAR = /(<|>)?=?\s*\*/;
const GTE_ZERO = /^\s*>=\s*0\.0\.0\s*$/;
const GTE_ZERO_PRE = /^\s*>=\s*0\.0\.0-0\s*$/;
// (its RegExp is in the tables)
const COERCE_SOURCE =
  `(^|[^\\d])(\\d{1,${MAX_COERCE_DIGITS}})(?:\\.(\\d{1,${MAX_COERCE_DIGITS}}))?` +
  `(?:\\.(\\d{1,${MAX_COERCE_DIGITS}}))?(?:$|[^\\d])`;
const DIGITS = /^[0-9]+$/;
const WHITESPACE = /\s+/g;
const OR = /\s*\|\|\s*/g;

// text.split(separator) for a global separator that never matches the
// empty string. String.prototype.split with a RegExp takes V8's slow path
// once RegExp.prototype is frozen, as it is in the build-file realm: it
// re-creates the RegExp and tries a sticky match at every position, about
// 25x slower than these successive exec calls, which split the same way.
function splitOn(text, separator) {
  const parts = [];
  let from = 0;
  separator.lastIndex = 0;
  for (let m = separator.exec(text); m !== null; m = separator.exec(text)) {
    parts.push(text.slice(from, m.index));
    from = m.index + m[0].length;
  }
  parts.push(text.slice(from));
  return parts;
}

// text.replace(re, fn) for a non-global re, by exec (same reason);
// fn gets the match array.
function replaceFirst(text, re, fn) {
  const m = re.exec(text);
  return m === null ? text : text.slice(0, m.index) + fn(m) + text.slice(m.index + m[0].length);
}

// text.replace(re, fn) for a global re that never matches the empty string.
function replaceEvery(text, re, fn) {
  let out = "";
  let from = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out += text.slice(from, m.index) + fn(m);
    from = m.index + m[0].length;
  }
  return out + text.slice(from);
}

// Options: a falsy value means none, any other non-object means `loose`
// (the old boolean argument), an object keeps the flags that are truthy.
function normalizeOptions(options) {
  if (!options) return {};
  if (typeof options !== "object") return { loose: true };
  const out = {};
  for (const key of ["includePrerelease", "loose", "rtl"]) {
    if (options[key]) out[key] = true;
  }
  return out;
}

// Numeric identifiers sort numerically and before alphanumeric ones.
export function compareIdentifiers(a, b) {
  const aNum = DIGITS.test(a);
  const bNum = DIGITS.test(b);
  if (aNum && bNum) {
    a = +a;
    b = +b;
  }
  if (a === b) return 0;
  if (aNum && !bNum) return -1;
  if (bNum && !aNum) return 1;
  return a < b ? -1 : 1;
}

export function rcompareIdentifiers(a, b) {
  return compareIdentifiers(b, a);
}

// Element-wise identifier lists: a longer list that agrees on the common
// part sorts after the shorter one.
function compareLists(left, right) {
  for (let i = 0; ; i++) {
    const a = left[i];
    const b = right[i];
    if (a === undefined && b === undefined) return 0;
    if (b === undefined) return 1;
    if (a === undefined) return -1;
    if (a !== b) return compareIdentifiers(a, b);
  }
}

// ---------------------------------------------------------------------------
// SemVer

export class SemVer {
  constructor(version, options) {
    options = normalizeOptions(options);
    if (version instanceof SemVer) {
      if (version.loose === !!options.loose && version.includePrerelease === !!options.includePrerelease) {
        return version;
      }
      version = version.version;
    } else if (typeof version !== "string") {
      throw new TypeError(`Invalid Version: ${version}`);
    }
    if (version.length > MAX_LENGTH) {
      throw new TypeError(`version is longer than ${MAX_LENGTH} characters`);
    }
    this.options = options;
    this.loose = !!options.loose;
    this.includePrerelease = !!options.includePrerelease;
    const trimmed = version.trim();
    const m = SIMPLE_VERSION.exec(trimmed) || gram(options).version.exec(trimmed);
    if (!m) throw new TypeError(`Invalid Version: ${version}`);
    this.raw = version;
    this.major = +m[1];
    this.minor = +m[2];
    this.patch = +m[3];
    for (const part of ["major", "minor", "patch"]) {
      if (this[part] > MAX_SAFE_INTEGER || this[part] < 0) throw new TypeError(`Invalid ${part} version`);
    }
    this.prerelease = m[4] ? m[4].split(".").map(prereleaseId) : [];
    this.build = m[5] ? m[5].split(".") : [];
    this.format();
  }

  format() {
    this.version = `${this.major}.${this.minor}.${this.patch}`;
    if (this.prerelease.length) this.version += `-${this.prerelease.join(".")}`;
    return this.version;
  }

  toString() {
    return this.version;
  }

  compare(other) {
    if (!(other instanceof SemVer)) {
      if (typeof other === "string" && other === this.version) return 0;
      other = new SemVer(other, this.options);
    }
    if (other.version === this.version) return 0;
    return this.compareMain(other) || this.comparePre(other);
  }

  compareMain(other) {
    if (!(other instanceof SemVer)) other = new SemVer(other, this.options);
    return (
      compareIdentifiers(this.major, other.major) ||
      compareIdentifiers(this.minor, other.minor) ||
      compareIdentifiers(this.patch, other.patch)
    );
  }

  comparePre(other) {
    if (!(other instanceof SemVer)) other = new SemVer(other, this.options);
    // A release sorts after every prerelease of the same x.y.z.
    const mine = this.prerelease.length;
    const theirs = other.prerelease.length;
    if (mine && !theirs) return -1;
    if (!mine && theirs) return 1;
    if (!mine && !theirs) return 0;
    return compareLists(this.prerelease, other.prerelease);
  }

  compareBuild(other) {
    if (!(other instanceof SemVer)) other = new SemVer(other, this.options);
    return compareLists(this.build, other.build);
  }

  // Bumps in place and returns this. `pre` is the low-level step the
  // pre* kinds share (1.0.0 'pre' gives 1.0.0-0, which sorts lower).
  inc(release, identifier) {
    switch (release) {
      case "premajor":
        this.prerelease.length = 0;
        this.patch = 0;
        this.minor = 0;
        this.major++;
        this.inc("pre", identifier);
        break;
      case "preminor":
        this.prerelease.length = 0;
        this.patch = 0;
        this.minor++;
        this.inc("pre", identifier);
        break;
      case "prepatch":
        this.prerelease.length = 0;
        this.inc("patch", identifier);
        this.inc("pre", identifier);
        break;
      case "prerelease":
        if (this.prerelease.length === 0) this.inc("patch", identifier);
        this.inc("pre", identifier);
        break;
      case "major":
        // 1.0.0-5 -> 1.0.0 (the release it was a prerelease of), 1.1.0 -> 2.0.0
        if (this.minor !== 0 || this.patch !== 0 || this.prerelease.length === 0) this.major++;
        this.minor = 0;
        this.patch = 0;
        this.prerelease = [];
        break;
      case "minor":
        if (this.patch !== 0 || this.prerelease.length === 0) this.minor++;
        this.patch = 0;
        this.prerelease = [];
        break;
      case "patch":
        if (this.prerelease.length === 0) this.patch++;
        this.prerelease = [];
        break;
      case "pre":
        bumpPrerelease(this, identifier);
        break;
      default:
        throw new Error(`invalid increment argument: ${release}`);
    }
    this.format();
    this.raw = this.version;
    return this;
  }
}

function prereleaseId(id) {
  if (DIGITS.test(id)) {
    const n = +id;
    if (n >= 0 && n < MAX_SAFE_INTEGER) return n;
  }
  return id;
}

function bumpPrerelease(v, identifier) {
  if (v.prerelease.length === 0) {
    v.prerelease = [0];
  } else {
    // the last numeric identifier goes up by one; none: append a 0
    let i = v.prerelease.length - 1;
    while (i >= 0 && typeof v.prerelease[i] !== "number") i--;
    if (i >= 0) v.prerelease[i]++;
    else v.prerelease.push(0);
  }
  if (identifier) {
    // 1.2.0-beta.1 -> 1.2.0-beta.2; 1.2.0-beta.x or 1.2.0-alpha.1 -> 1.2.0-beta.0
    if (v.prerelease[0] !== identifier || isNaN(v.prerelease[1])) v.prerelease = [identifier, 0];
  }
}

// ---------------------------------------------------------------------------
// Functions over versions

export function parse(version, options) {
  options = normalizeOptions(options);
  if (version instanceof SemVer) return version;
  if (typeof version !== "string" || version.length > MAX_LENGTH) return null;
  // The untrimmed text must match (the constructor alone would trim).
  if (!SIMPLE_VERSION.test(version) && !gram(options).version.test(version)) return null;
  try {
    return new SemVer(version, options);
  } catch {
    return null;
  }
}

export function valid(version, options) {
  const v = parse(version, options);
  return v ? v.version : null;
}

export function clean(version, options) {
  const v = parse(version.trim().replace(/^[=v]+/, ""), options);
  return v ? v.version : null;
}

export function inc(version, release, options, identifier) {
  if (typeof options === "string") {
    identifier = options;
    options = undefined;
  }
  try {
    return new SemVer(version, options).inc(release, identifier).version;
  } catch {
    return null;
  }
}

export function diff(version1, version2) {
  if (eq(version1, version2)) return null;
  const v1 = parse(version1);
  const v2 = parse(version2);
  const hasPre = v1.prerelease.length || v2.prerelease.length;
  for (const part of ["major", "minor", "patch"]) {
    if (v1[part] !== v2[part]) return hasPre ? `pre${part}` : part;
  }
  return hasPre ? "prerelease" : "";
}

export const major = (a, loose) => new SemVer(a, loose).major;
export const minor = (a, loose) => new SemVer(a, loose).minor;
export const patch = (a, loose) => new SemVer(a, loose).patch;

export function prerelease(version, options) {
  const v = parse(version, options);
  return v && v.prerelease.length ? v.prerelease : null;
}

export const compare = (a, b, loose) => new SemVer(a, loose).compare(new SemVer(b, loose));
export const rcompare = (a, b, loose) => compare(b, a, loose);
export const compareLoose = (a, b) => compare(a, b, true);

export function compareBuild(a, b, loose) {
  const left = new SemVer(a, loose);
  const right = new SemVer(b, loose);
  return left.compare(right) || left.compareBuild(right);
}

// Both sort in place (and return the list), build metadata breaking ties.
export const sort = (list, loose) => list.sort((a, b) => compareBuild(a, b, loose));
export const rsort = (list, loose) => list.sort((a, b) => compareBuild(b, a, loose));

export const gt = (a, b, loose) => compare(a, b, loose) > 0;
export const lt = (a, b, loose) => compare(a, b, loose) < 0;
export const eq = (a, b, loose) => compare(a, b, loose) === 0;
export const neq = (a, b, loose) => compare(a, b, loose) !== 0;
export const gte = (a, b, loose) => compare(a, b, loose) >= 0;
export const lte = (a, b, loose) => compare(a, b, loose) <= 0;

export function cmp(a, op, b, loose) {
  switch (op) {
    case "===":
    case "!==": {
      // identity of the version strings, no parsing
      const left = typeof a === "object" ? a.version : a;
      const right = typeof b === "object" ? b.version : b;
      return op === "===" ? left === right : left !== right;
    }
    case "":
    case "=":
    case "==":
      return eq(a, b, loose);
    case "!=":
      return neq(a, b, loose);
    case ">":
      return gt(a, b, loose);
    case ">=":
      return gte(a, b, loose);
    case "<":
      return lt(a, b, loose);
    case "<=":
      return lte(a, b, loose);
    default:
      throw new TypeError(`Invalid operator: ${op}`);
  }
}

// The first (or, with {rtl: true}, the right-most) run of up to three
// dot-separated numbers in the text, as a version: "v2" -> 2.0.0,
// "1.2.3.4" -> 1.2.3 (rtl: 2.3.4).
export function coerce(version, options) {
  if (version instanceof SemVer) return version;
  if (typeof version === "number") version = String(version);
  if (typeof version !== "string") return null;
  options = options || {};
  const m = options.rtl ? coerceRightmost(version) : version.match(getTables().coerce);
  if (m === null) return null;
  return parse(`${m[2]}.${m[3] || "0"}.${m[4] || "0"}`, options);
}

function coerceRightmost(text) {
  // Scan every start, overlapping matches included; keep the latest match
  // that does not end where the kept one ends (a shorter suffix of it), and
  // stop once the kept match reaches the end of the text.
  const scan = new RegExp(COERCE_SOURCE, "g");
  let kept = null;
  for (;;) {
    if (kept && kept.index + kept[0].length === text.length) break;
    const next = scan.exec(text);
    if (!next) break;
    if (!kept || next.index + next[0].length !== kept.index + kept[0].length) kept = next;
    scan.lastIndex = next.index + next[1].length + next[2].length;
  }
  return kept;
}

// ---------------------------------------------------------------------------
// Comparator: one operator and one version (or ANY, the empty comparator).

const ANY = Symbol("SemVer ANY");

export class Comparator {
  static get ANY() {
    return ANY;
  }

  constructor(comp, options) {
    options = normalizeOptions(options);
    if (comp instanceof Comparator) {
      if (comp.loose === !!options.loose) return comp;
      comp = comp.value;
    }
    this.options = options;
    this.loose = !!options.loose;
    this.parse(comp);
    this.value = this.semver === ANY ? "" : this.operator + this.semver.version;
  }

  parse(comp) {
    // (a non-string fails in match as it does in node-semver)
    const re = gram(this.options).comparator;
    const m = typeof comp === "string" ? re.exec(comp) : comp.match(re);
    if (!m) throw new TypeError(`Invalid comparator: ${comp}`);
    this.operator = m[1] !== undefined && m[1] !== "=" ? m[1] : "";
    this.semver = m[2] ? new SemVer(m[2], this.options.loose) : ANY;
  }

  toString() {
    return this.value;
  }

  test(version) {
    if (this.semver === ANY || version === ANY) return true;
    if (typeof version === "string") {
      try {
        version = new SemVer(version, this.options);
      } catch {
        return false;
      }
    }
    return cmp(version, this.operator, this.semver, this.options);
  }

  intersects(comp, options) {
    if (!(comp instanceof Comparator)) throw new TypeError("a Comparator is required");
    if (!options || typeof options !== "object") options = { loose: !!options, includePrerelease: false };
    if (this.operator === "") {
      return this.value === "" ? true : new Range(comp.value, options).test(this.value);
    }
    if (comp.operator === "") {
      return comp.value === "" ? true : new Range(this.value, options).test(comp.semver);
    }
    const up = (op) => op === ">=" || op === ">";
    const down = (op) => op === "<=" || op === "<";
    const inclusive = (op) => op === ">=" || op === "<=";
    const a = this.operator;
    const b = comp.operator;
    return (
      (up(a) && up(b)) ||
      (down(a) && down(b)) ||
      (this.semver.version === comp.semver.version && inclusive(a) && inclusive(b)) ||
      (cmp(this.semver, "<", comp.semver, options) && up(a) && down(b)) ||
      (cmp(this.semver, ">", comp.semver, options) && down(a) && up(b))
    );
  }
}

// ---------------------------------------------------------------------------
// Range: `||`-separated sets of comparators that must all hold.

const PARSED_SETS_MAX = 1000;
const parsedSets = new Map();
const isNullSet = (c) => c.value === "<0.0.0-0";
const isAny = (c) => c.value === "";
const isX = (id) => !id || id.toLowerCase() === "x" || id === "*";

export class Range {
  constructor(range, options) {
    options = normalizeOptions(options);
    if (range instanceof Range) {
      if (range.loose === !!options.loose && range.includePrerelease === !!options.includePrerelease) return range;
      return new Range(range.raw, options);
    }
    this.options = options;
    this.loose = !!options.loose;
    this.includePrerelease = !!options.includePrerelease;
    if (range instanceof Comparator) {
      this.raw = range.value;
      this.set = [[range]];
      this.format();
      return;
    }
    this.raw = range;
    // (a non-string fails in split as it does in node-semver)
    this.set = (typeof range === "string" ? splitOn(range, OR) : range.split(OR))
      .map((part) => this.parseRange(part.trim()))
      // an empty set is a part loose mode dropped; only a range with none
      // left at all is invalid
      .filter((c) => c.length);
    if (!this.set.length) throw new TypeError(`Invalid SemVer Range: ${range}`);
    if (this.set.length > 1) {
      // null sets add nothing to a union (unless all are null), and a
      // bare `*` swallows the rest
      const first = this.set[0];
      this.set = this.set.filter((c) => !isNullSet(c[0]));
      if (this.set.length === 0) {
        this.set = [first];
      } else if (this.set.length > 1) {
        const star = this.set.find((c) => c.length === 1 && isAny(c[0]));
        if (star) this.set = [star];
      }
    }
    this.format();
  }

  format() {
    this.range = this.set
      .map((comps) => comps.join(" ").trim())
      .join("||")
      .trim();
    return this.range;
  }

  toString() {
    return this.range;
  }

  parseRange(range) {
    range = range.trim();
    const options = this.options;
    // Parsed sets are shared between Ranges, as node-semver's memo does; the
    // memo belongs to this module instance, i.e. to one evaluation.
    const memoKey = `${Object.keys(options).join(",")}:${range}`;
    const memo = parsedSets.get(memoKey);
    if (memo) return memo;
    const g = gram(options);
    range = replaceFirst(range, g.hyphen, (m) => desugarHyphen(options.includePrerelease, m));
    range = replaceEvery(range, getTables().glueOperator, (m) => m[1] + m[2] + m[3]);
    range = replaceEvery(range, GLUE_TILDE, (m) => `${m[1]}~`);
    range = replaceEvery(range, GLUE_CARET, (m) => `${m[1]}^`);
    range = splitOn(range, WHITESPACE).join(" ");
    let comps = splitOn(
      range
        .split(" ")
        .map((comp) => desugar(comp, options))
        .join(" "),
      WHITESPACE,
    )
      .map((comp) => replaceFirst(comp.trim(), options.includePrerelease ? GTE_ZERO_PRE : GTE_ZERO, () => ""));
    // loose mode drops what is not a comparator; strict mode throws on it below
    if (options.loose) comps = comps.filter((comp) => g.comparator.test(comp));
    const parsed = comps.map((comp) => new Comparator(comp, options));
    // a null set swallows its whole set; duplicates and, next to
    // anything else, the ANY comparator go
    const byValue = new Map();
    for (const comp of parsed) {
      if (isNullSet(comp)) return [comp];
      byValue.set(comp.value, comp);
    }
    if (byValue.size > 1 && byValue.has("")) byValue.delete("");
    const result = [...byValue.values()];
    if (parsedSets.size >= PARSED_SETS_MAX) parsedSets.delete(parsedSets.keys().next().value);
    parsedSets.set(memoKey, result);
    return result;
  }

  intersects(range, options) {
    if (!(range instanceof Range)) throw new TypeError("a Range is required");
    return this.set.some(
      (mine) =>
        isSatisfiable(mine, options) &&
        range.set.some(
          (theirs) =>
            isSatisfiable(theirs, options) &&
            mine.every((a) => theirs.every((b) => a.intersects(b, options))),
        ),
    );
  }

  test(version) {
    if (!version) return false;
    if (typeof version === "string") {
      try {
        version = new SemVer(version, this.options);
      } catch {
        return false;
      }
    }
    return this.set.some((set) => testSet(set, version, this.options));
  }
}

// Whether some version can satisfy every comparator of a set: every pair
// must intersect.
function isSatisfiable(comparators, options) {
  const rest = comparators.slice();
  let probe = rest.pop();
  let ok = true;
  while (ok && rest.length) {
    ok = rest.every((other) => probe.intersects(other, options));
    probe = rest.pop();
  }
  return ok;
}

function testSet(set, version, options) {
  for (const comp of set) {
    if (!comp.test(version)) return false;
  }
  if (version.prerelease.length && !options.includePrerelease) {
    // A prerelease matches only if some comparator names a prerelease of
    // the same x.y.z: ^1.2.3-pr.1 takes 1.2.3-pr.2 but not 1.2.4-pr.0.
    for (const comp of set) {
      if (comp.semver === ANY) continue;
      const allowed = comp.semver;
      if (
        allowed.prerelease.length > 0 &&
        allowed.major === version.major &&
        allowed.minor === version.minor &&
        allowed.patch === version.patch
      ) {
        return true;
      }
    }
    return false;
  }
  return true;
}

// `1.2 - 3.4` -> `>=1.2.0 <3.5.0-0`
function desugarHyphen(incPr, m) {
  let [, from, fM, fm, fp, fpr, , to, tM, tm, tp, tpr] = m;
  const z = incPr ? "-0" : "";
  if (isX(fM)) from = "";
  else if (isX(fm)) from = `>=${fM}.0.0${z}`;
  else if (isX(fp)) from = `>=${fM}.${fm}.0${z}`;
  else if (fpr) from = `>=${from}`;
  else from = `>=${from}${z}`;

  if (isX(tM)) to = "";
  else if (isX(tm)) to = `<${+tM + 1}.0.0-0`;
  else if (isX(tp)) to = `<${tM}.${+tm + 1}.0-0`;
  else if (tpr) to = `<=${tM}.${tm}.${tp}-${tpr}`;
  else if (incPr) to = `<${tM}.${tm}.${+tp + 1}-0`;
  else to = `<=${to}`;
  return `${from} ${to}`.trim();
}

// One whitespace-free token of a range -> plain comparators: carets, then
// tildes, then x-ranges, then stars.
function desugar(comp, options) {
  const g = gram(options);
  const eachWord = (text, fn) => splitOn(text.trim(), WHITESPACE).map(fn).join(" ");
  comp = eachWord(comp, (w) => replaceFirst(w, g.caret, (m) => desugarCaret(options, m[1], m[2], m[3], m[4])));
  comp = eachWord(comp, (w) => replaceFirst(w, g.tilde, (m) => desugarTilde(m[1], m[2], m[3], m[4])));
  comp = splitOn(comp, WHITESPACE)
    .map((w) => {
      w = w.trim();
      return replaceFirst(w, g.xrange, (m) => desugarXRange(options, m[0], m[1], m[2], m[3], m[4]));
    })
    .join(" ");
  // `*` is AND-ed with the rest, and the empty comparator already means any
  return replaceFirst(comp.trim(), STAR, () => "");
}

// ~1.2.3 -> >=1.2.3 <1.3.0-0; ~1 -> >=1.0.0 <2.0.0-0
function desugarTilde(M, m, p, pr) {
  if (isX(M)) return "";
  if (isX(m)) return `>=${M}.0.0 <${+M + 1}.0.0-0`;
  if (isX(p)) return `>=${M}.${m}.0 <${M}.${+m + 1}.0-0`;
  if (pr) return `>=${M}.${m}.${p}-${pr} <${M}.${+m + 1}.0-0`;
  return `>=${M}.${m}.${p} <${M}.${+m + 1}.0-0`;
}

// ^1.2.3 -> >=1.2.3 <2.0.0-0; ^0.2.3 -> <0.3.0-0; ^0.0.3 -> <0.0.4-0
function desugarCaret(options, M, m, p, pr) {
  const z = options.includePrerelease ? "-0" : "";
  if (isX(M)) return "";
  if (isX(m)) return `>=${M}.0.0${z} <${+M + 1}.0.0-0`;
  if (isX(p)) {
    return M === "0" ? `>=${M}.${m}.0${z} <${M}.${+m + 1}.0-0` : `>=${M}.${m}.0${z} <${+M + 1}.0.0-0`;
  }
  const low = pr ? `>=${M}.${m}.${p}-${pr}` : M === "0" ? `>=${M}.${m}.${p}${z}` : `>=${M}.${m}.${p}`;
  let high;
  if (M !== "0") high = `<${+M + 1}.0.0-0`;
  else if (m !== "0") high = `<${M}.${+m + 1}.0-0`;
  else high = `<${M}.${m}.${+p + 1}-0`;
  return `${low} ${high}`;
}

// 1.x -> >=1.0.0 <2.0.0-0; >1.2 -> >=1.3.0; <=1.x -> <2.0.0-0; * -> any
function desugarXRange(options, whole, op, M, m, p) {
  const xM = isX(M);
  const xm = xM || isX(m);
  const xp = xm || isX(p);
  if (op === "=" && xp) op = "";
  // with includePrerelease, a lower bound starts at the lowest prerelease
  let pr = options.includePrerelease ? "-0" : "";
  if (xM) return op === ">" || op === "<" ? "<0.0.0-0" : "*";
  if (op && xp) {
    if (xm) m = 0;
    p = 0;
    if (op === ">") {
      op = ">=";
      if (xm) {
        M = +M + 1;
        m = 0;
      } else {
        m = +m + 1;
      }
    } else if (op === "<=") {
      op = "<";
      if (xm) M = +M + 1;
      else m = +m + 1;
    }
    if (op === "<") pr = "-0";
    return `${op + M}.${m}.${p}${pr}`;
  }
  if (xm) return `>=${M}.0.0${pr} <${+M + 1}.0.0-0`;
  if (xp) return `>=${M}.${m}.0${pr} <${M}.${+m + 1}.0-0`;
  return whole;
}

export function satisfies(version, range, options) {
  try {
    range = new Range(range, options);
  } catch {
    return false;
  }
  return range.test(version);
}

// Each set of the range as a list of comparator strings.
export const toComparators = (range, options) =>
  new Range(range, options).set.map((comps) =>
    comps
      .map((c) => c.value)
      .join(" ")
      .trim()
      .split(" "),
  );

function bestSatisfying(versions, range, options, better) {
  let best = null;
  let bestParsed = null;
  let parsedRange;
  try {
    parsedRange = new Range(range, options);
  } catch {
    return null;
  }
  versions.forEach((v) => {
    if (parsedRange.test(v) && (!best || better(bestParsed.compare(v)))) {
      best = v;
      bestParsed = new SemVer(best, options);
    }
  });
  return best;
}

export const maxSatisfying = (versions, range, options) => bestSatisfying(versions, range, options, (c) => c === -1);
export const minSatisfying = (versions, range, options) => bestSatisfying(versions, range, options, (c) => c === 1);

// The lowest version the range admits, or null.
export function minVersion(range, loose) {
  range = new Range(range, loose);
  for (const floor of ["0.0.0", "0.0.0-0"]) {
    const v = new SemVer(floor);
    if (range.test(v)) return v;
  }
  let best = null;
  for (const comparators of range.set) {
    let setMin = null;
    for (const comparator of comparators) {
      const candidate = new SemVer(comparator.semver.version); // a copy: bumped below
      switch (comparator.operator) {
        case ">":
          if (candidate.prerelease.length === 0) candidate.patch++;
          else candidate.prerelease.push(0);
          candidate.raw = candidate.format();
        // falls through: now an inclusive lower bound
        case "":
        case ">=":
          if (!setMin || gt(candidate, setMin)) setMin = candidate;
          break;
        case "<":
        case "<=":
          break; // upper bounds do not raise the minimum
        default:
          throw new Error(`Unexpected operation: ${comparator.operator}`);
      }
    }
    if (setMin && (!best || gt(best, setMin))) best = setMin;
  }
  return best && range.test(best) ? best : null;
}

export function validRange(range, options) {
  try {
    // '*' rather than '' so that the answer is truthy
    return new Range(range, options).range || "*";
  } catch {
    return null;
  }
}

// Whether the version is above (hilo '>') or below ('<') every version the
// range admits.
export function outside(version, range, hilo, options) {
  version = new SemVer(version, options);
  range = new Range(range, options);
  let beyond, notBeyond, before, comp, ecomp;
  if (hilo === ">") {
    [beyond, notBeyond, before, comp, ecomp] = [gt, lte, lt, ">", ">="];
  } else if (hilo === "<") {
    [beyond, notBeyond, before, comp, ecomp] = [lt, gte, gt, "<", "<="];
  } else {
    throw new TypeError('Must provide a hilo val of "<" or ">"');
  }
  if (satisfies(version, range, options)) return false;
  for (const comparators of range.set) {
    let high = null;
    let low = null;
    for (let comparator of comparators) {
      if (comparator.semver === ANY) comparator = new Comparator(">=0.0.0");
      high = high || comparator;
      low = low || comparator;
      if (beyond(comparator.semver, high.semver, options)) high = comparator;
      else if (before(comparator.semver, low.semver, options)) low = comparator;
    }
    // the set's edge is bounded on our side: the version is not beyond it
    if (high.operator === comp || high.operator === ecomp) return false;
    if ((!low.operator || low.operator === comp) && notBeyond(version, low.semver)) return false;
    if (low.operator === ecomp && before(version, low.semver)) return false;
  }
  return true;
}

export const gtr = (version, range, options) => outside(version, range, ">", options);
export const ltr = (version, range, options) => outside(version, range, "<", options);

export function intersects(r1, r2, options) {
  r1 = new Range(r1, options);
  r2 = new Range(r2, options);
  return r1.intersects(r2);
}

// A range that admits the same versions out of `versions` as `range`, as
// `||`-joined spans; `range` itself when that is not shorter. Sorts
// `versions` in place.
export function simplifyRange(versions, range, options) {
  const spans = [];
  let first = null;
  let last = null;
  const sorted = versions.sort((a, b) => compare(a, b, options));
  for (const version of sorted) {
    if (satisfies(version, range, options)) {
      last = version;
      if (!first) first = version;
    } else {
      if (last) spans.push([first, last]);
      last = null;
      first = null;
    }
  }
  if (first) spans.push([first, null]);
  const parts = spans.map(([lo, hi]) => {
    if (lo === hi) return lo;
    if (!hi) return lo === sorted[0] ? "*" : `>=${lo}`;
    if (lo === sorted[0]) return `<=${hi}`;
    return `${lo} - ${hi}`;
  });
  const simplified = parts.join(" || ");
  const original = typeof range.raw === "string" ? range.raw : String(range);
  return simplified.length < original.length ? simplified : range;
}

// Whether every version `sub` admits is admitted by `dom`.
export function subset(sub, dom, options = {}) {
  if (sub === dom) return true;
  sub = new Range(sub, options);
  dom = new Range(dom, options);
  let sawNonNull = false;
  nextSub: for (const simpleSub of sub.set) {
    for (const simpleDom of dom.set) {
      const verdict = simpleSubset(simpleSub, simpleDom, options);
      sawNonNull = sawNonNull || verdict !== null;
      if (verdict) continue nextSub;
    }
    // a null simple range is a subset of anything, but it does not make the
    // whole union one unless every simple range is null
    if (sawNonNull) return false;
  }
  return true;
}

// true / false, or null when `sub` is the null set.
function simpleSubset(sub, dom, options) {
  if (sub === dom) return true;
  if (sub.length === 1 && sub[0].semver === ANY) {
    if (dom.length === 1 && dom[0].semver === ANY) return true;
    sub = [new Comparator(options.includePrerelease ? ">=0.0.0-0" : ">=0.0.0")];
  }
  if (dom.length === 1 && dom[0].semver === ANY) {
    if (options.includePrerelease) return true;
    dom = [new Comparator(">=0.0.0")];
  }

  const eqSet = new Set();
  let gtc, ltc;
  for (const c of sub) {
    if (c.operator === ">" || c.operator === ">=") gtc = higherGT(gtc, c, options);
    else if (c.operator === "<" || c.operator === "<=") ltc = lowerLT(ltc, c, options);
    else eqSet.add(c.semver);
  }
  if (eqSet.size > 1) return null;

  let gtltComp;
  if (gtc && ltc) {
    gtltComp = compare(gtc.semver, ltc.semver, options);
    if (gtltComp > 0) return null;
    if (gtltComp === 0 && (gtc.operator !== ">=" || ltc.operator !== "<=")) return null;
  }

  for (const only of eqSet) {
    if (gtc && !satisfies(only, String(gtc), options)) return null;
    if (ltc && !satisfies(only, String(ltc), options)) return null;
    return dom.every((c) => satisfies(only, String(c), options));
  }

  // A bound with a prerelease needs a dom comparator with a prerelease on
  // the same x.y.z, or dom misses the bound's other prereleases.
  const needsPre = (bound) =>
    bound && !options.includePrerelease && bound.semver.prerelease.length ? bound.semver : false;
  let needDomLTPre = needsPre(ltc);
  let needDomGTPre = needsPre(gtc);
  // except <1.2.3-0, which is just <1.2.3
  if (
    needDomLTPre &&
    needDomLTPre.prerelease.length === 1 &&
    ltc.operator === "<" &&
    needDomLTPre.prerelease[0] === 0
  ) {
    needDomLTPre = false;
  }
  const sameTuplePre = (c, v) =>
    c.semver.prerelease &&
    c.semver.prerelease.length &&
    c.semver.major === v.major &&
    c.semver.minor === v.minor &&
    c.semver.patch === v.patch;

  let hasDomLT, hasDomGT;
  for (const c of dom) {
    hasDomGT = hasDomGT || c.operator === ">" || c.operator === ">=";
    hasDomLT = hasDomLT || c.operator === "<" || c.operator === "<=";
    if (gtc) {
      if (needDomGTPre && sameTuplePre(c, needDomGTPre)) needDomGTPre = false;
      if (c.operator === ">" || c.operator === ">=") {
        const higher = higherGT(gtc, c, options);
        if (higher === c && higher !== gtc) return false;
      } else if (gtc.operator === ">=" && !satisfies(gtc.semver, String(c), options)) {
        return false;
      }
    }
    if (ltc) {
      if (needDomLTPre && sameTuplePre(c, needDomLTPre)) needDomLTPre = false;
      if (c.operator === "<" || c.operator === "<=") {
        const lower = lowerLT(ltc, c, options);
        if (lower === c && lower !== ltc) return false;
      } else if (ltc.operator === "<=" && !satisfies(ltc.semver, String(c), options)) {
        return false;
      }
    }
    if (!c.operator && (ltc || gtc) && gtltComp !== 0) return false;
  }
  // a one-sided sub against a two-sided dom is not inside it (unless sub is
  // a single point)
  if (gtc && hasDomLT && !ltc && gtltComp !== 0) return false;
  if (ltc && hasDomGT && !gtc && gtltComp !== 0) return false;
  if (needDomGTPre || needDomLTPre) return false;
  return true;
}

// The stricter lower bound (>1.2.3 is stricter than >=1.2.3).
function higherGT(a, b, options) {
  if (!a) return b;
  const c = compare(a.semver, b.semver, options);
  if (c > 0) return a;
  if (c < 0) return b;
  return b.operator === ">" && a.operator === ">=" ? b : a;
}

// The stricter upper bound (<1.2.3 is stricter than <=1.2.3).
function lowerLT(a, b, options) {
  if (!a) return b;
  const c = compare(a.semver, b.semver, options);
  if (c < 0) return a;
  if (c > 0) return b;
  return b.operator === "<" && a.operator === "<=" ? b : a;
}
