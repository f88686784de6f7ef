// zako prelude: installed once into every new context, before lockdown.js
// freezes it. A context (a *realm*) then serves many evaluations; what one
// evaluation may touch lives in `st`, which `__zako_begin` replaces.
//
// It is evaluated as an expression `(function (ctl) {...})` and called with
// the host's controls ({abLimit, consoleMax}); it returns nothing.
// The host drives an evaluation through `__zako_begin` (fresh state, inputs,
// host function names) and `__zako_step`, which reports the evaluation's state
// as JSON text (a string is the only value that crosses to Python without
// mini-racer's object handles, and it can never hang the conversion the way
// a BigInt does).
//
// Everything the host protocol relies on is captured here, before user code
// runs; after lockdown the intrinsics are frozen anyway, so a script cannot
// break the driver, nor leave anything behind for the next evaluation.
(function (ctl) {
  "use strict";
  const G = globalThis;
  const stringify = JSON.stringify;
  const jsonParse = JSON.parse;
  const ObjectKeys = Object.keys;
  const ObjectToString = Object.prototype.toString;
  const defineProperty = Object.defineProperty;
  const isArray = Array.isArray;
  const ErrorCtor = Error;
  const StringCtor = String;
  const NumberCtor = Number;
  const isFinite_ = Number.isFinite;
  // The host's clock: timers and console.time need it, scripts do not get it.
  const DateNow = Date.now;
  const ReflectConstruct = Reflect.construct;
  const ReflectApply = Reflect.apply;
  const SetCtor = Set;
  const setHas = Set.prototype.has;
  const setAdd = Set.prototype.add;
  const setDelete = Set.prototype.delete;
  const WeakSetCtor = WeakSet;
  const weakHas = WeakSet.prototype.has;
  const weakAdd = WeakSet.prototype.add;
  const PromiseCtor = Promise;
  const promiseThen = Promise.prototype.then;
  const FinReg = typeof FinalizationRegistry === "function" ? FinalizationRegistry : null;
  const ArrayBufferIsView = ArrayBuffer.isView;
  const arraySplice = Array.prototype.splice;

  // Everything here is fixed: lockdown freezes the global object afterwards.
  const fixed = (function fixed(name, value) {
    defineProperty(G, name, { value, writable: false, enumerable: false, configurable: false });
  });
  // mini-racer's own timer globals are non-configurable but writable.
  const replace = (function replace(name, value) {
    const d = Object.getOwnPropertyDescriptor(G, name);
    if (d && !d.configurable) { G[name] = value; return; }
    fixed(name, value);
  });

  // ---- state of the running evaluation ---------------------------------------
  function freshState(inputs, hostNames) {
    return {
      started: false,
      // 0 pending, 1 fulfilled, 2 rejected
      done: 0,
      value: undefined,
      // first exception thrown by a timer callback
      uncaught: null,
      // text of the ArrayBuffer cap violation, sticky
      overLimit: null,
      // host calls not yet answered
      hostPending: 0,
      hostRequests: [],
      hostWaiting: { __proto__: null },
      hostNames,
      logs: [],
      logsDropped: 0,
      // stack of the latest instrumented `throw` of a non-Error
      throwSite: null,
      throwValue: undefined,
      timers: [],
      nextTimerId: 1,
      consoleTimers: { __proto__: null },
      consoleCounts: { __proto__: null },
      inputs,
      // ArrayBuffer bytes of this evaluation (buffers of earlier ones are not counted)
      abLive: 0,
      abPeak: 0,
      generation: 0,
      // whether this evaluation may start the module runtime (once)
      modulesAllowed: false,
    };
  }
  let generation = 0;
  let st = freshState({}, []);
  // Realm-wide, so a late answer to an earlier evaluation's call finds nothing.
  let nextHostId = 1;

  // ---- console -------------------------------------------------------------
  const consoleMax = ctl.consoleMax;
  function inspect(v, depth, seen) {
    const t = typeof v;
    if (t === "string") return depth === 0 ? v : stringify(v);
    if (t === "number" || t === "boolean" || t === "undefined") return StringCtor(v);
    if (t === "bigint") return StringCtor(v) + "n";
    if (t === "symbol") return v.toString();
    if (t === "function") return "[Function " + (v.name || "(anonymous)") + "]";
    if (v === null) return "null";
    if (v instanceof ErrorCtor) return StringCtor(v.stack || v);
    if (ReflectApply(setHas, seen, [v])) return "[Circular]";
    if (depth > 4) return isArray(v) ? "[Array]" : "[Object]";
    ReflectApply(setAdd, seen, [v]);
    let out;
    try {
      if (isArray(v)) {
        out = "[";
        for (let i = 0; i < v.length; i++) {
          if (i) out += ", ";
          if (i >= 100) { out += "... " + (v.length - 100) + " more"; break; }
          out += inspect(v[i], depth + 1, seen);
        }
        out += "]";
      } else {
        const keys = ObjectKeys(v);
        out = "{";
        for (let i = 0; i < keys.length; i++) {
          if (i) out += ", ";
          if (i >= 100) { out += "..."; break; }
          out += keys[i] + ": " + inspect(v[keys[i]], depth + 1, seen);
        }
        out += "}";
      }
    } finally {
      ReflectApply(setDelete, seen, [v]);
    }
    return out;
  }
  function format(args) {
    let text = "";
    for (let i = 0; i < args.length; i++) {
      if (i) text += " ";
      try { text += inspect(args[i], 0, new SetCtor()); }
      catch (e) { text += "[uninspectable]"; }
    }
    return text;
  }
  function emit(level, args) {
    const s = st;
    if (s.logs.length >= consoleMax) { s.logsDropped++; return; }
    s.logs[s.logs.length] = [level, format(args)];
  }
  const con = {
    log: (...a) => emit("info", a),
    info: (...a) => emit("info", a),
    debug: (...a) => emit("debug", a),
    // A level, as the original Zako's Console has it (no stack dump).
    trace: (...a) => emit("trace", a),
    warn: (...a) => emit("warning", a),
    error: (...a) => emit("error", a),
    dir: (v) => emit("info", [v]),
    assert: (cond, ...a) => { if (!cond) emit("error", ["Assertion failed:", ...a]); },
    time: (label = "default") => { st.consoleTimers[label] = DateNow(); },
    timeEnd: (label = "default") => {
      const t = st.consoleTimers;
      if (label in t) { emit("info", [label + ": " + (DateNow() - t[label]) + "ms"]); delete t[label]; }
    },
    count: (label = "default") => {
      const c = st.consoleCounts;
      c[label] = (c[label] || 0) + 1;
      emit("info", [label + ": " + c[label]]);
    },
  };
  replace("console", con);

  // ---- timers ----------------------------------------------------------------
  // A plain list kept in (due, id) order; build scripts use a handful of timers.
  // It belongs to the evaluation: a timer left pending is dropped with it.
  function schedule(queue, t) {
    let i = queue.length;
    while (i > 0 && (queue[i - 1].due > t.due)) i--;
    ReflectApply(arraySplice, queue, [i, 0, t]);
  }
  function addTimer(fn, delay, args, repeat) {
    if (typeof fn !== "function") {
      throw new TypeError("zako timers take a function callback, got " + typeof fn);
    }
    let ms = NumberCtor(delay);
    if (!(ms >= 1) || ms > 2147483647) ms = repeat ? 1 : 0;
    const s = st;
    const t = { id: s.nextTimerId++, due: DateNow() + ms, ms, fn, args, repeat };
    schedule(s.timers, t);
    return t.id;
  }
  function clearTimer(id) {
    const queue = st.timers;
    for (let i = 0; i < queue.length; i++) {
      if (queue[i].id === id) { ReflectApply(arraySplice, queue, [i, 1]); return; }
    }
  }
  replace("setTimeout", function setTimeout(fn, delay, ...args) { return addTimer(fn, delay, args, false); });
  fixed("setInterval", function setInterval(fn, delay, ...args) { return addTimer(fn, delay, args, true); });
  replace("clearTimeout", function clearTimeout(id) { clearTimer(id); });
  fixed("clearInterval", function clearInterval(id) { clearTimer(id); });
  fixed("queueMicrotask", function queueMicrotask(fn) {
    if (typeof fn !== "function") throw new TypeError("queueMicrotask takes a function");
    ReflectApply(promiseThen, PromiseCtor.resolve(), [fn]);
  });
  if ("__timer_manager" in G) replace("__timer_manager", undefined);

  // ---- ArrayBuffer / TypedArray cap -------------------------------------------
  // Backing stores live outside the V8 heap, so the hard heap limit does not see
  // them. Every constructor that can allocate one is wrapped and the bytes are
  // counted against the running evaluation; they come back when the garbage
  // collector reclaims the buffer (if that evaluation is still running).
  const abLimit = ctl.abLimit;
  const accounted = new WeakSetCtor();
  const reg = FinReg ? new FinReg((h) => {
    if (h.generation === st.generation) st.abLive -= h.n;
  }) : null;
  function refuse(n, what) {
    const s = st;
    const msg = what + " of " + n + " bytes would take ArrayBuffer memory to " + (s.abLive + n) +
      " bytes, over the limit of " + abLimit + " bytes";
    if (s.overLimit === null) s.overLimit = msg;
    throw new RangeError(msg);
  }
  function reserve(n, what) {
    n = NumberCtor(n);
    // the real constructor reports a bad length
    if (!(n >= 0)) return;
    if (st.abLive + n > abLimit) refuse(n, what);
  }
  function grew(n) {
    const s = st;
    s.abLive += n;
    if (s.abLive > s.abPeak) s.abPeak = s.abLive;
  }
  function account(buf) {
    if (buf === null || typeof buf !== "object" || ReflectApply(weakHas, accounted, [buf])) return;
    ReflectApply(weakAdd, accounted, [buf]);
    const n = buf.byteLength;
    grew(n);
    if (reg) reg.register(buf, { n, generation: st.generation });
    if (st.abLive > abLimit) refuse(0, "ArrayBuffer");
  }
  const guardCtor = (function guardCtor(name, sizeOf, bufferOf) {
    const Orig = G[name];
    if (typeof Orig !== "function") return;
    const P = new Proxy(Orig, {
      construct(target, args, newTarget) {
        reserve(sizeOf(args, target), name);
        const obj = ReflectConstruct(target, args, newTarget === P ? target : newTarget);
        account(bufferOf(obj));
        return obj;
      },
    });
    // species lookups (slice, map, subarray...) go through prototype.constructor
    defineProperty(Orig.prototype, "constructor", { value: P, writable: true, enumerable: false, configurable: true });
    defineProperty(G, name, { value: P, writable: true, enumerable: false, configurable: true });
  });
  const bufSize = (args) => args[0];
  guardCtor("ArrayBuffer", bufSize, (b) => b);
  const typed = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
    "Int32Array", "Uint32Array", "Float16Array", "Float32Array", "Float64Array",
    "BigInt64Array", "BigUint64Array"];
  for (const name of typed) {
    guardCtor(name, (args, target) => {
      const a = args[0];
      const bpe = target.BYTES_PER_ELEMENT;
      if (typeof a !== "object" || a === null) return (NumberCtor(a) || 0) * bpe;
      const tag = ReflectApply(ObjectToString, a, []);
      if (tag === "[object ArrayBuffer]" || tag === "[object SharedArrayBuffer]") return 0;
      const len = NumberCtor(a.length);
      return len >= 0 ? len * bpe : 0;
    }, (ta) => ta.buffer);
  }
  // Methods that grow or copy a buffer in place of a constructor call.
  const guardMethod = (function guardMethod(proto, method, sizeOf, what) {
    const orig = proto && proto[method];
    if (typeof orig !== "function") return;
    defineProperty(proto, method, {
      value: function (...args) {
        const grow = sizeOf(this, args);
        if (grow > 0) reserve(grow, what);
        const r = ReflectApply(orig, this, args);
        if (r && typeof r === "object" && r !== this) account(r);
        else if (grow > 0) grew(grow);
        return r;
      },
      writable: true, enumerable: false, configurable: true,
    });
  });
  const growBy = (b, args) => NumberCtor(args[0]) - b.byteLength;
  guardMethod(ArrayBuffer.prototype, "resize", growBy, "ArrayBuffer.resize");
  guardMethod(ArrayBuffer.prototype, "transfer", (b, a) => a.length ? NumberCtor(a[0]) : b.byteLength, "ArrayBuffer.transfer");
  guardMethod(ArrayBuffer.prototype, "transferToFixedLength", (b, a) => a.length ? NumberCtor(a[0]) : b.byteLength, "ArrayBuffer.transfer");
  // Static constructors that make a new buffer without calling `this`: the
  // input string is already in the heap, so counting after the fact is enough.
  const U8 = G.Uint8Array;
  for (const method of ["fromBase64", "fromHex"]) {
    const orig = U8[method];
    if (typeof orig !== "function") continue;
    defineProperty(U8, method, {
      value: function (...args) { const r = ReflectApply(orig, this, args); account(r.buffer); return r; },
      writable: true, enumerable: false, configurable: true,
    });
  }
  // `new Array(2 ** 27).fill(x)` asks V8 for one backing store past its own
  // maximum heap, which aborts the whole process before any limit check can
  // run. A fill that could not fit in the heap limit is refused up front.
  const arrayFill = Array.prototype.fill;
  defineProperty(Array.prototype, "fill", {
    value: function fill(...args) {
      const n = NumberCtor(this.length);
      if (n * 8 > abLimit) {
        const msg = "Array.prototype.fill of " + n + " elements needs at least " + (n * 8) +
          " bytes, over the heap limit of " + abLimit + " bytes";
        if (st.overLimit === null) st.overLimit = msg;
        throw new RangeError(msg);
      }
      return ReflectApply(arrayFill, this, args);
    },
    writable: true, enumerable: false, configurable: true,
  });
  // `Array.from({length: 2 ** 28})` and the copying methods of a huge sparse
  // array build a dense array of that length in one go: V8 either aborts the
  // process or runs far past the heap limit before any check can stop it.
  function refuseLength(what, n) {
    const msg = what + " of " + n + " elements needs at least " + (n * 8) +
      " bytes, over the heap limit of " + abLimit + " bytes";
    if (st.overLimit === null) st.overLimit = msg;
    throw new RangeError(msg);
  }
  const iteratorSymbol = Symbol.iterator;
  const arrayFrom = Array.from;
  defineProperty(Array, "from", {
    value: function from(items, ...rest) {
      if (items !== null && items !== undefined && typeof items[iteratorSymbol] !== "function") {
        const n = NumberCtor(items.length);
        if (n * 8 > abLimit) refuseLength("Array.from", n);
      }
      return ReflectApply(arrayFrom, this, [items, ...rest]);
    },
    writable: true, enumerable: false, configurable: true,
  });
  for (const method of ["toSorted", "toReversed", "toSpliced", "with"]) {
    const orig = Array.prototype[method];
    if (typeof orig !== "function") continue;
    defineProperty(Array.prototype, method, {
      value: { [method](...args) {
        const n = NumberCtor(this.length);
        if (n * 8 > abLimit) refuseLength("Array.prototype." + method, n);
        return ReflectApply(orig, this, args);
      } }[method],
      writable: true, enumerable: false, configurable: true,
    });
  }
  // Same for `huge.split(",")`: V8 counts the pieces, then allocates the
  // result in one piece and aborts the process if it is too long.
  const stringSplit = String.prototype.split;
  const stringIndexOf = String.prototype.indexOf;
  defineProperty(String.prototype, "split", {
    value: function split(sep, limit) {
      const str = StringCtor(this);
      if (typeof sep === "string" && str.length * 8 > abLimit) {
        let pieces = 1;
        if (sep.length === 0) pieces = str.length;
        else {
          for (let i = ReflectApply(stringIndexOf, str, [sep]); i !== -1; i = ReflectApply(stringIndexOf, str, [sep, i + sep.length])) pieces++;
        }
        if (limit !== undefined && (limit >>> 0) < pieces) pieces = limit >>> 0;
        if (pieces * 8 > abLimit) {
          const msg = "String.prototype.split into " + pieces + " pieces needs at least " + (pieces * 8) +
            " bytes, over the heap limit of " + abLimit + " bytes";
          if (st.overLimit === null) st.overLimit = msg;
          throw new RangeError(msg);
        }
      }
      return ReflectApply(stringSplit, this, [sep, limit]);
    },
    writable: true, enumerable: false, configurable: true,
  });

  // ---- result conversion --------------------------------------------------------
  function where(path) { return path === "" ? "the result" : "result" + path; }
  function convError(path, what, hint) {
    const e = new ErrorCtor("cannot convert " + what + " at " + where(path) + " to plain data" + (hint ? " (" + hint + ")" : ""));
    e.zakoConversion = true;
    return e;
  }
  const identifierKey = /^[A-Za-z_$][\w$]*$/;
  const regexpTest = RegExp.prototype.test;
  const stringSlice = String.prototype.slice;
  // Returns JSON text; NaN and ±Infinity are written as Python's json reads them.
  const toJson = (function toJson(v, path, stack) {
    switch (typeof v) {
      case "string": return stringify(v);
      case "boolean": return v ? "true" : "false";
      case "undefined": return "null";
      case "number":
        if (isFinite_(v)) return StringCtor(v);
        return v !== v ? "NaN" : (v > 0 ? "Infinity" : "-Infinity");
      case "bigint": throw convError(path, "a BigInt (" + StringCtor(v) + "n)", "use Number(x) or String(x)");
      case "symbol": throw convError(path, "a Symbol (" + v.toString() + ")");
      case "function": throw convError(path, "a function (" + (v.name || "anonymous") + ")");
    }
    if (v === null) return "null";
    if (ReflectApply(setHas, stack, [v])) throw convError(path, "a cyclic reference", "the object contains itself");
    if (typeof v.toJSON === "function") {
      const j = v.toJSON();
      if (j !== v) {
        ReflectApply(setAdd, stack, [v]);
        try { return toJson(j, path, stack); } finally { ReflectApply(setDelete, stack, [v]); }
      }
    }
    let out;
    ReflectApply(setAdd, stack, [v]);
    try {
      if (isArray(v)) {
        out = "[";
        const n = v.length;
        for (let i = 0; i < n; i++) {
          if (i) out += ",";
          out += toJson(v[i], path + "[" + i + "]", stack);
        }
        return out + "]";
      }
      const tag = ReflectApply(ObjectToString, v, []);
      if (tag !== "[object Object]" && tag !== "[object Arguments]") {
        const kind = ReflectApply(stringSlice, tag, [8, -1]);
        if (v instanceof PromiseCtor || kind === "Promise") throw convError(path, "a Promise", "await it before returning");
        if (ArrayBufferIsView(v) || kind === "ArrayBuffer" || kind === "SharedArrayBuffer") {
          throw convError(path, "a " + kind, "use Array.from(x)");
        }
        if (kind === "Error" || v instanceof ErrorCtor) throw convError(path, "an Error (" + StringCtor(v) + ")");
        if (kind === "Map" || kind === "Set" || kind === "WeakMap" || kind === "WeakSet" || kind === "RegExp" ||
            kind === "Date" || kind === "WeakRef") {
          throw convError(path, "a " + kind, kind === "Map" ? "use Object.fromEntries(x)" : kind === "Set" ? "use [...x]" : "");
        }
      }
      const keys = ObjectKeys(v);
      out = "{";
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        if (i) out += ",";
        const step = ReflectApply(regexpTest, identifierKey, [k]) ? "." + k : "[" + stringify(k) + "]";
        out += stringify(k) + ":" + toJson(v[k], path + step, stack);
      }
      return out + "}";
    } finally {
      ReflectApply(setDelete, stack, [v]);
    }
  });

  // ---- exceptions -------------------------------------------------------------------
  function describe(e) {
    let isErr = false;
    try { isErr = e instanceof ErrorCtor || (e !== null && typeof e === "object" && typeof e.stack === "string" && "message" in e); } catch (_) {}
    if (isErr) {
      let name = "Error", message = "", stack = null, text;
      try { name = StringCtor(e.name); } catch (_) {}
      try { message = StringCtor(e.message); } catch (_) {}
      try { stack = typeof e.stack === "string" ? e.stack : null; } catch (_) {}
      try { text = StringCtor(e); } catch (_) { text = name + ": " + message; }
      return { name, message, stack, exception: text, error: true };
    }
    let text;
    try { text = typeof e === "string" ? e : inspect(e, 1, new SetCtor()); } catch (_) { text = "[unprintable value]"; }
    const site = st.throwSite !== null && st.throwValue === e ? st.throwSite : null;
    return { name: null, message: text, stack: site === null ? null : text + site, exception: text, error: false };
  }
  // Records where a non-Error value is thrown (the host instruments `throw x`
  // statements whose value is not `new ...`), since such values carry no stack.
  function throwSite(v) {
    const holder = {};
    ErrorCtor.captureStackTrace(holder, throwSite);
    // drop the "Error" head, keep the frames
    st.throwSite = ReflectApply(stringSlice, StringCtor(holder.stack), [5]);
    st.throwValue = v;
    return v;
  }
  fixed("__zako_throw_site", throwSite);

  // Compiles a plain script's body on its own (nothing runs): a body that
  // would close the host's wrapper and go on at the top level is refused
  // before any of it runs.
  const AsyncFunctionCtor = (async function () {}).constructor;
  const SyntaxErrorCtor = SyntaxError;
  fixed("__zako_check_body", (function checkBody(source) {
    try { new AsyncFunctionCtor(source); }
    catch (e) {
      if (e instanceof SyntaxErrorCtor) throw new SyntaxErrorCtor("zako-body-check: " + e.message);
      throw e;
    }
  }));

  // ---- host protocol ----------------------------------------------------------------
  // The inputs of the running evaluation; an accessor, since the global object
  // is frozen and each evaluation has its own.
  defineProperty(G, "executionContext", {
    get: function executionContext() { return st.inputs; },
    enumerable: false,
    configurable: false,
  });

  // Starts an evaluation: everything the previous one left (timers, host
  // calls, console state, buffers counted) is dropped here.
  fixed("__zako_begin", (function begin(inputsJson, hostNames, modules) {
    generation++;
    st = freshState(inputsJson === null ? {} : jsonParse(inputsJson), hostNames || []);
    st.generation = generation;
    st.modulesAllowed = modules === true;
    return "zako:begun";
  }));
  // The module runtime asks this first: true once, and only in an
  // evaluation the host started as a module graph.
  fixed("__zako_claim_modules", (function claimModules() {
    const s = st;
    if (!s.modulesAllowed) return false;
    s.modulesAllowed = false;
    return true;
  }));

  fixed("__zako_start", (function (body) {
    const s = st;
    if (s.started) throw new ErrorCtor("__zako_start may be called only once");
    s.started = true;
    // Host functions are the body's parameters, in the order begin named them:
    // the global object is frozen, so they cannot be globals.
    const names = s.hostNames;
    const stubs = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      stubs[i] = (...args) => hostCall(name, args);
    }
    let p;
    try { p = ReflectApply(body, G, stubs); } catch (e) { s.done = 2; s.value = e; return "zako:started"; }
    ReflectApply(promiseThen, PromiseCtor.resolve(p), [
      (v) => { s.done = 1; s.value = v; },
      (e) => { s.done = 2; s.value = e; },
    ]);
    return "zako:started";
  }));

  // One step of the host loop: report a final state, or run the earliest due
  // timer, or say how long to sleep. Microtasks run between two steps (they
  // drain when the host's eval returns), which is why each step runs at most
  // one timer callback.
  // A final state says whether the evaluation changed what lockdown left
  // watched (new globals, RegExp/Map/Set prototypes): the host then retires
  // the realm, so the next evaluation cannot see it.
  function markDirty(r) {
    const intact = G.__zako_intact;
    if (typeof intact === "function" && !intact()) r.dirty = 1;
  }
  function final(r) {
    markDirty(r);
    return stringify(r);
  }

  fixed("__zako_step", (function (transform) {
    const s = st;
    const r = { logs: s.logs, dropped: s.logsDropped, ab: s.abPeak };
    s.logs = [];
    s.logsDropped = 0;
    if (s.hostRequests.length) r.host = ReflectApply(arraySplice, s.hostRequests, [0, s.hostRequests.length]);
    if (!s.started) { r.s = "nostart"; return final(r); }
    if (s.overLimit !== null) { r.s = "heap"; r.msg = s.overLimit; return final(r); }
    if (s.uncaught !== null) { r.s = "throw"; r.err = describe(s.uncaught.e); return final(r); }
    if (s.done === 2) { r.s = "throw"; r.err = describe(s.value); return final(r); }
    if (s.done === 1) {
      let json;
      try {
        const v = typeof transform === "function" ? transform(s.value) : s.value;
        json = toJson(v, "", new SetCtor());
      } catch (e) {
        if (e && e.zakoConversion) { r.s = "conv"; r.msg = e.message; return final(r); }
        r.s = "throw"; r.err = describe(e); return final(r);
      }
      r.s = "ok";
      markDirty(r);
      return ReflectApply(stringSlice, stringify(r), [0, -1]) + ",\"value\":" + json + "}";
    }
    const queue = s.timers;
    if (queue.length === 0) {
      r.s = s.hostPending > 0 ? "wait" : "deadlock";
      return final(r);
    }
    const t = queue[0];
    const now = DateNow();
    if (t.due > now) { r.s = "sleep"; r.ms = t.due - now; return stringify(r); }
    ReflectApply(arraySplice, queue, [0, 1]);
    if (t.repeat) { t.due = now + t.ms; schedule(queue, t); }
    try { ReflectApply(t.fn, G, t.args); }
    catch (e) { if (s.uncaught === null) s.uncaught = { e }; }
    r.s = "ran";
    return stringify(r);
  }));

  // ---- host calls ---------------------------------------------------------------------
  // `__zako_host(name, ...args)` returns a promise; the request leaves with the
  // next host step (as JSON) and is answered by `__zako_host_settle`. While one
  // is outstanding, a pending promise is not a deadlock.
  const hostCall = (function hostCall(name, args) {
    const argsJson = toJson(args, "", new SetCtor());
    const s = st;
    return new PromiseCtor((resolve, reject) => {
      const id = nextHostId++;
      s.hostWaiting[id] = [resolve, reject];
      s.hostPending++;
      s.hostRequests[s.hostRequests.length] = [id, StringCtor(name), argsJson];
    });
  });
  fixed("__zako_host", (name, ...args) => hostCall(name, args));
  fixed("__zako_host_settle", (function (id, ok, json) {
    const s = st;
    const w = s.hostWaiting[id];
    if (w === undefined) return;
    delete s.hostWaiting[id];
    s.hostPending--;
    const v = jsonParse(json);
    if (ok) { w[0](v); return; }
    const e = new ErrorCtor(v.message);
    defineProperty(e, "name", { value: v.name, writable: true, enumerable: false, configurable: true });
    w[1](e);
  }));
})
