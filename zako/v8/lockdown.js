// zako lockdown: run once per context, after the prelude (and any engine
// code the context needs) is installed, before any build file runs.
//
// A context serves many evaluations, so everything they share must be
// immutable and nothing they can see may vary between runs:
//  1. nondeterministic APIs are removed or throw (results are cached by
//     content, so a build file must compute the same result every time);
//  2. legacy RegExp statics, which leak the last match across evaluations,
//     are removed;
//  3. a few inherited properties that ordinary code assigns on its own
//     objects (`this.name = ...` in an Error subclass, `F.prototype.toString
//     = ...`) become accessors that define the property on the object
//     assigned to, so freezing the prototypes does not break such code;
//  4. every object reachable from the global object and the hidden
//     intrinsics (generator and async function machinery, iterator
//     prototypes) is frozen, except a few *watched* objects (below);
//  5. the watched objects are checked after every evaluation instead
//     (`__zako_intact()`), and a realm whose watched objects changed is
//     retired: the next evaluation gets a fresh one.
//
// Why watch instead of freeze:
//  - the global object stays extensible (its own properties are frozen), so
//    code may define globals as the language allows (`globalThis.x = 1`, as
//    test262's module tests do); such an evaluation costs a new realm;
//  - RegExp.prototype, Map.prototype and Set.prototype stay untouched: V8
//    keeps its fast paths (String split/replace with a RegExp, new Map/Set
//    from an iterable) only while these objects keep their original shape.
//    Freezing them made `"1.2.3".split(/\./)` 18x slower. Their properties'
//    values (the functions) are frozen as usual.
//
// Called as `(function (ctl) {...})({stackTraceLimit})`; returns the number
// of objects frozen.
(function (ctl) {
  "use strict";
  const G = globalThis;
  const O = Object;
  const freeze = O.freeze;
  const getProto = O.getPrototypeOf;
  const gopd = O.getOwnPropertyDescriptor;
  const defineProperty = O.defineProperty;
  const hasOwn = O.hasOwn;
  const ownKeys = Reflect.ownKeys;
  const TypeErrorCtor = TypeError;
  const StringCtor = String;
  const SetCtor = Set;
  const setHas = Set.prototype.has;
  const setAdd = Set.prototype.add;
  const apply = Reflect.apply;

  // ---- 1. determinism ---------------------------------------------------------
  const WHY = ": build files must be deterministic: their results are cached";
  function unavailable(name) {
    return new TypeErrorCtor(name + " is not available in zako build files" + WHY);
  }
  function thrower(name) {
    // A named function (not an arrow): `new Date()` must reach the body too.
    const f = { [name]: function () { throw unavailable(name); } }[name];
    return f;
  }
  function replaceMethod(obj, key, name) {
    if (obj && typeof obj[key] === "function") {
      defineProperty(obj, key, { value: thrower(name), writable: true, enumerable: false, configurable: true });
    }
  }
  // Absent: code that feature-detects them (`typeof WeakRef`) takes its
  // deterministic path.
  // (Temporal reads the clock and the host's time zone: Temporal.Now.)
  for (const name of ["Intl", "Temporal", "Atomics", "SharedArrayBuffer", "WeakRef", "FinalizationRegistry",
    "performance", "WebAssembly"]) {
    if (hasOwn(G, name)) delete G[name];
  }
  // Present but throwing in every form: code calls these directly, and the
  // error should say why. Date keeps no working form: even parsing a fixed
  // string depends on the machine's time zone.
  const DateStub = thrower("Date");
  for (const key of ["now", "parse", "UTC"]) {
    defineProperty(DateStub, key, { value: thrower("Date." + key), writable: true, enumerable: false, configurable: true });
  }
  defineProperty(G, "Date", { value: DateStub, writable: true, enumerable: false, configurable: true });
  replaceMethod(Math, "random", "Math.random");
  // Locale-dependent formatting and comparison (ICU data and the host's locale).
  replaceMethod(String.prototype, "localeCompare", "String.prototype.localeCompare");
  replaceMethod(String.prototype, "toLocaleLowerCase", "String.prototype.toLocaleLowerCase");
  replaceMethod(String.prototype, "toLocaleUpperCase", "String.prototype.toLocaleUpperCase");
  replaceMethod(Number.prototype, "toLocaleString", "Number.prototype.toLocaleString");
  replaceMethod(BigInt.prototype, "toLocaleString", "BigInt.prototype.toLocaleString");
  replaceMethod(Array.prototype, "toLocaleString", "Array.prototype.toLocaleString");
  const TypedArray = getProto(Uint8Array.prototype);
  replaceMethod(TypedArray, "toLocaleString", "TypedArray.prototype.toLocaleString");

  // ---- 2. legacy RegExp statics ----------------------------------------------------
  for (const key of ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "input", "$_",
    "lastMatch", "$&", "lastParen", "$+", "leftContext", "$`", "rightContext", "$'"]) {
    if (hasOwn(RegExp, key)) delete RegExp[key];
  }

  // ---- 3. assignable inherited properties --------------------------------------------
  function enableOverride(obj, key, owner) {
    const d = gopd(obj, key);
    if (!d || !("value" in d) || !d.writable || !d.configurable) return;
    const value = d.value;
    const get = { [key]() { return value; } }[key];
    const set = {
      [key](v) {
        if (this === obj) {
          throw new TypeErrorCtor("Cannot assign to read only property '" + StringCtor(key) + "' of " + owner +
            " (intrinsics are frozen in zako build files)");
        }
        if (hasOwn(this, key)) {
          this[key] = v;
        } else {
          defineProperty(this, key, { value: v, writable: true, enumerable: true, configurable: true });
        }
      },
    }[key];
    defineProperty(obj, key, { get, set, enumerable: d.enumerable, configurable: false });
  }
  const objectKeys = ["constructor", "toString", "valueOf", "hasOwnProperty", "isPrototypeOf",
    "propertyIsEnumerable", "toLocaleString"];
  for (const key of objectKeys) enableOverride(O.prototype, key, "Object.prototype");
  for (const key of ["constructor", "toString"]) enableOverride(Function.prototype, key, "Function.prototype");
  const errors = ["Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError",
    "URIError", "AggregateError", "SuppressedError"];
  for (const name of errors) {
    const C = G[name];
    if (typeof C !== "function") continue;
    for (const key of ["constructor", "name", "message", "toString"]) enableOverride(C.prototype, key, name + ".prototype");
  }
  // Not Array, Promise or RegExp: an accessor there would switch off V8's
  // fast paths (its species and `then` protectors) for every script.

  // ---- 4. freeze everything reachable ------------------------------------------------
  // The stack trace limit is read by V8 as a data property: set it before
  // it is frozen (the builtins' location() needs frames past the user's
  // helper functions).
  defineProperty(Error, "stackTraceLimit", { value: ctl.stackTraceLimit, writable: true, enumerable: true, configurable: true });

  const hidden = [];
  const protoOf = (x) => getProto(x);
  hidden.push(protoOf(function* () {}));
  hidden.push(protoOf(async function () {}));
  hidden.push(protoOf(async function* () {}));
  hidden.push(protoOf([][Symbol.iterator]()));
  hidden.push(protoOf(new Map()[Symbol.iterator]()));
  hidden.push(protoOf(new Set()[Symbol.iterator]()));
  hidden.push(protoOf(""[Symbol.iterator]()));
  hidden.push(protoOf(/a/[Symbol.matchAll]("a")));
  hidden.push(protoOf((function* () {})()));
  hidden.push(protoOf(protoOf((async function* () {})())));
  if (typeof Iterator === "function" && typeof Iterator.from === "function") {
    hidden.push(protoOf(Iterator.from({ next() { return { done: true }; } })));
  }
  if (typeof [].values().map === "function") hidden.push(protoOf([].values().map((x) => x)));
  // %ThrowTypeError%, behind strict arguments.callee
  hidden.push(gopd((function () { "use strict"; return arguments; })(), "callee").get);
  if (ctl.extra) for (const x of ctl.extra) hidden.push(x);

  const watched = [RegExp.prototype, Map.prototype, Set.prototype];
  const isWatched = (o) => o === watched[0] || o === watched[1] || o === watched[2];
  const seen = new SetCtor();
  const todo = [G, ...hidden];
  let frozen = 0;
  while (todo.length) {
    const o = todo.pop();
    if (o === null || (typeof o !== "object" && typeof o !== "function")) continue;
    if (apply(setHas, seen, [o])) continue;
    apply(setAdd, seen, [o]);
    todo.push(getProto(o));
    const keys = ownKeys(o);
    for (let i = 0; i < keys.length; i++) {
      const d = gopd(o, keys[i]);
      if (d === undefined) continue;
      if ("value" in d) todo.push(d.value);
      else { todo.push(d.get); todo.push(d.set); }
    }
    if (o === G || isWatched(o)) continue;
    freeze(o);
    frozen++;
  }

  // ---- 5. watched objects ----------------------------------------------------------
  const isExtensible = O.isExtensible;
  const sameValue = O.is;
  function snapshot(o) {
    const keys = ownKeys(o);
    const descs = [];
    for (let i = 0; i < keys.length; i++) descs[i] = gopd(o, keys[i]);
    return { o, proto: getProto(o), keys, descs };
  }
  function unchanged(snap) {
    const o = snap.o;
    if (getProto(o) !== snap.proto || !isExtensible(o)) return false;
    const keys = ownKeys(o);
    if (keys.length !== snap.keys.length) return false;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== snap.keys[i]) return false;
      const a = gopd(o, keys[i]);
      const b = snap.descs[i];
      if (!sameValue(a.value, b.value) || a.get !== b.get || a.set !== b.set || a.writable !== b.writable ||
          a.enumerable !== b.enumerable || a.configurable !== b.configurable) return false;
    }
    return true;
  }
  const snaps = [snapshot(watched[0]), snapshot(watched[1]), snapshot(watched[2])];
  // The global object's own properties are frozen like any other object's;
  // only additions (and preventExtensions) remain possible, so a count says
  // whether it changed. `__zako_intact` itself is counted.
  const globalCount = ownKeys(G).length + 1;
  const intact = function __zako_intact() {
    if (!isExtensible(G) || ownKeys(G).length !== globalCount) return false;
    for (let i = 0; i < snaps.length; i++) if (!unchanged(snaps[i])) return false;
    return true;
  };
  freeze(intact);
  defineProperty(G, "__zako_intact", { value: intact, writable: false, enumerable: false, configurable: false });
  const globalKeys = ownKeys(G);
  for (let i = 0; i < globalKeys.length; i++) {
    const d = gopd(G, globalKeys[i]);
    if ("value" in d) d.writable = false;
    d.configurable = false;
    defineProperty(G, globalKeys[i], d);
  }
  frozen++;
  return frozen;
})
