// Module registry run by zako.v8.module_runner: links transformed modules
// and evaluates them in ES module order. Not importable as a module; the
// runner inlines this function expression into the script it evaluates.
//
// cfg = {version, context (the entry's context type), entry, modules: [{url, name, builtin, deps, requests, scope, ns, code}]}
//   scope: {local: [owner, localName] | [module, "*"]}   import bindings
//   ns:    {exported: [owner, localName] | [module, "*"]} resolved exports
//   code:  source evaluating to (scope) => async generator function (api),
//          ending in its own //# sourceURL
//   deps:  static imports in order; requests: every request (incl. import()) -> module
(function () {
"use strict";
// Compiled module factories this realm keeps, by key (see build_script):
// calling a factory makes a fresh instance, so keeping it shares no state.
const factories = new Map();
const claim = globalThis.__zako_claim_modules;
return async function runModules(cfg) {
  "use strict";
  // Only the host's own call, once per evaluation: a script calling this
  // could otherwise plant a factory for later evaluations.
  if (!claim()) throw new Error("zako: the module runtime can only be started by the host");
  const mods = cfg.modules;
  const declarations = { targets: [], rules: [], toolchains: [], configs: [], project: [] };
  const finishers = [];
  const LOCATION = /\(?([^()\s]+):(\d+):\d+\)?$/;

  const host = Object.freeze({
    version: cfg.version,
    context: cfg.context,
    inputs: globalThis.executionContext === undefined ? null : globalThis.executionContext,
    declare(kind, record) {
      declarations[kind].push(record);
      return record;
    },
    onFinish(fn) {
      finishers.push(fn);
    },
    // "file:line" of the innermost caller outside the zako: builtins.
    // (Error.stackTraceLimit is frozen at a depth that reaches past helpers.)
    location() {
      const stack = String(new Error().stack || "");
      for (const line of stack.split("\n").slice(1)) {
        const m = LOCATION.exec(line.trim());
        if (m && !m[1].startsWith("zako:") && m[1] !== "<anonymous>") return m[1] + ":" + m[2];
      }
      return null;
    },
    // A deep copy of plain data (null, boolean, finite number, string, array,
    // plain object); anything else is a TypeError naming `what` and the path.
    data(value, what) {
      const seen = new Set();
      const copy = (v, path) => {
        if (v === null || typeof v === "string" || typeof v === "boolean") return v;
        if (typeof v === "number") {
          if (!Number.isFinite(v)) throw new TypeError(`${path} must be a finite number, got ${v}`);
          return v;
        }
        if (typeof v !== "object") throw new TypeError(`${path} must be plain data, got a ${typeof v}`);
        if (seen.has(v)) throw new TypeError(`${path} is a cyclic reference`);
        seen.add(v);
        try {
          if (Array.isArray(v)) return v.map((x, i) => copy(x, `${path}[${i}]`));
          const proto = Object.getPrototypeOf(v);
          if (proto !== Object.prototype && proto !== null) {
            throw new TypeError(`${path} must be a plain object, got ${Object.prototype.toString.call(v)}`);
          }
          const out = {};
          for (const k of Object.keys(v)) if (v[k] !== undefined) out[k] = copy(v[k], `${path}.${k}`);
          return out;
        } finally {
          seen.delete(v);
        }
      };
      return copy(value, what);
    },
    log(level, args) {
      const c = globalThis.console;
      if (!c) return;
      const fn = typeof c[level] === "function" ? c[level] : c.log;
      if (typeof fn === "function") fn.apply(c, args);
    },
  });

  function binding(ref) {
    const owner = mods[ref[0]];
    const name = ref[1];
    if (name === "*") return () => namespace(owner);
    return () => {
      const get = owner.locals && owner.locals[name];
      if (get === undefined) throw new ReferenceError(`Cannot access '${name}' of ${owner.name} before initialization`);
      return get();
    };
  }

  // Module namespace exotic objects (ECMA-262 10.4.6) as a Proxy: each
  // export reads as a data property {value, writable: true, enumerable:
  // true, configurable: false} holding the live binding, and an export still
  // in its temporal dead zone throws ReferenceError from every trap that
  // reads it (hasOwnProperty, Object.keys, for-in included). The target
  // holds the same keys, non-configurable and writable, which is what
  // lets the traps report live values within the Proxy invariants.
  const NS_HANDLER = {
    getPrototypeOf: () => null,
    setPrototypeOf: (t, proto) => proto === null,
    isExtensible: () => false,
    preventExtensions: () => true,
    getOwnPropertyDescriptor(t, key) {
      if (typeof key === "symbol") return Reflect.getOwnPropertyDescriptor(t, key);
      const get = nsGetters.get(t)[key];
      if (get === undefined) return undefined;
      return { value: get(), writable: true, enumerable: true, configurable: false };
    },
    defineProperty(t, key, desc) {
      if (typeof key === "symbol") return Reflect.defineProperty(t, key, desc);
      const current = NS_HANDLER.getOwnPropertyDescriptor(t, key);
      if (current === undefined) return false;
      if (desc.configurable === true || desc.enumerable === false || desc.writable === false) return false;
      if ("get" in desc || "set" in desc) return false;
      return !("value" in desc) || Object.is(desc.value, current.value);
    },
    has(t, key) {
      if (typeof key === "symbol") return Reflect.has(t, key);
      return Object.prototype.hasOwnProperty.call(nsGetters.get(t), key);
    },
    get(t, key) {
      if (typeof key === "symbol") return Reflect.get(t, key);
      const get = nsGetters.get(t)[key];
      return get === undefined ? undefined : get();
    },
    set: () => false,
    deleteProperty(t, key) {
      if (typeof key === "symbol") return Reflect.deleteProperty(t, key);
      return !Object.prototype.hasOwnProperty.call(nsGetters.get(t), key);
    },
    ownKeys: (t) => nsKeys.get(t).slice(),
  };
  const nsGetters = new WeakMap();
  const nsKeys = new WeakMap();

  function namespace(m) {
    if (m.nsObject) return m.nsObject;
    const target = Object.create(null);
    const getters = Object.create(null);
    // Export names in code-unit order; an array keeps "0" after "-"
    // where an object's own keys would put integer-like names first.
    const names = Object.keys(m.ns).sort();
    for (const key of names) {
      getters[key] = binding(m.ns[key]);
      Object.defineProperty(target, key, { value: undefined, writable: true, enumerable: true, configurable: false });
    }
    Object.defineProperty(target, Symbol.toStringTag, { value: "Module" });
    Object.preventExtensions(target);
    nsGetters.set(target, getters);
    nsKeys.set(target, [...names, Symbol.toStringTag]);
    m.nsObject = new Proxy(target, NS_HANDLER);
    return m.nsObject;
  }

  // Evaluation as ECMA-262 16.2.1.5.3 orders it (Evaluate,
  // InnerModuleEvaluation, the async module fulfilled/rejected steps): a
  // depth-first walk that runs modules without pending async dependencies
  // at once, so siblings of a module suspended in top-level await start
  // while it waits, and a parent runs when its last async dependency
  // settles. A module is async when it awaits at its top level (the
  // transform's head calls api.a()) or has an async dependency, or its
  // body did not reach its end (the tail calls api.f()) in its first step
  // (see unfinished()).
  let asyncOrder = 0;

  function deferred() {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  }

  function evaluateTop(m) {
    if (m.status === "evaluating-async" || m.status === "evaluated") m = m.cycleRoot;
    if (m.top) return m.top.promise;
    m.top = deferred();
    const stack = [];
    try {
      inner(m, stack, 0);
      if (!m.asyncEval) m.top.resolve();
    } catch (e) {
      for (const x of stack) {
        x.status = "evaluated";
        x.failed = true;
        x.error = e;
        if (x.cycleRoot === undefined) x.cycleRoot = x;
      }
      m.top.reject(e);
    }
    return m.top.promise;
  }

  function inner(m, stack, index) {
    if (m.status === "evaluating-async" || m.status === "evaluated") {
      if (m.failed) throw m.error;
      return index;
    }
    if (m.status === "evaluating") return index;
    m.status = "evaluating";
    m.dfsIndex = m.dfsAnc = index++;
    m.pending = 0;
    m.parents = [];
    stack.push(m);
    for (const d of m.deps) {
      let r = mods[d];
      index = inner(r, stack, index);
      if (r.status === "evaluating") m.dfsAnc = Math.min(m.dfsAnc, r.dfsAnc);
      else {
        r = r.cycleRoot;
        if (r.failed) throw r.error;
      }
      if (r.asyncEval) {
        m.pending++;
        r.parents.push(m);
      }
    }
    if (m.pending > 0 || m.tla) {
      m.asyncEval = true;
      m.order = asyncOrder++;
      if (m.pending === 0) start(m);
    } else {
      const step = m.gen.next();
      if (!m.finished) unfinished(m, step);
    }
    if (m.dfsAnc === m.dfsIndex) {
      let x;
      do {
        x = stack.pop();
        x.status = x.asyncEval ? "evaluating-async" : "evaluated";
        x.cycleRoot = m;
      } while (x !== m);
    }
    return index;
  }

  // ExecuteAsyncModule: the body settles later.
  function start(m) {
    m.gen.next().then(() => fulfilled(m), (e) => rejected(m, e));
  }

  // A body without top-level await that did not reach its end in its
  // step threw, or awaits where the transform did not see it (`for (await
  // using` is parsed repaired, without its `await`): which, the generator
  // tells only in a later job, so it is evaluated as async either way. (On
  // a throw ECMA-262 ends the walk at once; here later siblings still run.)
  function unfinished(m, step) {
    m.asyncEval = true;
    m.order = asyncOrder++;
    step.then(() => fulfilled(m), (e) => rejected(m, e));
  }

  // GatherAvailableAncestors: the parents m's completion leaves with no
  // pending dependency, and through those without top-level await (which
  // complete in the same step) theirs.
  function gather(m, list) {
    for (const p of m.parents) {
      if (list.includes(p) || p.cycleRoot.failed) continue;
      if (--p.pending === 0) {
        list.push(p);
        if (!p.tla) gather(p, list);
      }
    }
  }

  // AsyncModuleExecutionFulfilled: every ancestor made ready runs in one
  // batch in [[AsyncEvaluationOrder]], not depth first.
  function fulfilled(m) {
    if (m.status === "evaluated") return; // already failed through another dependency
    m.status = "evaluated";
    m.asyncEval = false; // done: a later import() of it waits for nothing
    if (m.top) m.top.resolve();
    const ready = [];
    gather(m, ready);
    ready.sort((a, b) => a.order - b.order);
    runBatch(ready);
  }

  function runBatch(list) {
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p.status === "evaluated" || p.held > 0) continue; // failed meanwhile, or waits (below)
      if (p.tla) {
        start(p);
        continue;
      }
      const step = p.gen.next();
      if (p.finished) {
        p.status = "evaluated";
        p.asyncEval = false;
        if (p.top) p.top.resolve();
        continue;
      }
      // See unfinished(): the importers gathered through p (which counted
      // it as done) wait for it to settle.
      const held = [];
      const hold = (x) => {
        for (const q of x.parents) {
          if (list.indexOf(q, i + 1) < 0 || held.includes(q)) continue;
          held.push(q);
          q.held = (q.held || 0) + 1;
          hold(q);
        }
      };
      hold(p);
      const release = () => {
        for (const q of held) q.held--;
      };
      step.then(
        () => {
          release();
          if (p.status === "evaluated") return;
          p.status = "evaluated";
          p.asyncEval = false;
          if (p.top) p.top.resolve();
          runBatch(held.sort((a, b) => a.order - b.order));
        },
        (e) => {
          release();
          rejected(p, e);
        },
      );
    }
  }

  // AsyncModuleExecutionRejected: leaf to root, each module's own
  // top-level capability before its parents'.
  function rejected(m, e) {
    if (m.status === "evaluated" && m.failed) return;
    m.status = "evaluated";
    m.failed = true;
    m.error = e;
    m.asyncEval = false;
    if (m.top) m.top.reject(e);
    for (const p of m.parents) rejected(p, e);
  }

  // Instantiate every module, then let each register its export getters
  // (the generator's first step) before any module body runs.
  for (const m of mods) {
    let fn = m.key === undefined ? undefined : factories.get(m.key);
    if (fn === undefined) {
      if (typeof m.code !== "string") throw new Error(`zako: no compiled module ${m.name} in this context`);
      try {
        fn = (0, eval)(m.code);
      } catch (e) {
        // V8 rejected code tree-sitter accepted (e.g. a redeclared `let`):
        // eval's error has no position, so at least name the module.
        if (e instanceof SyntaxError) e.message += ` (in module ${m.name})`;
        throw e;
      }
      if (m.key !== undefined) factories.set(m.key, fn);
    }
    m.fn = fn;
    m.code = null;
  }
  for (const m of mods) {
    const scope = Object.create(null);
    for (const local of Object.keys(m.scope)) {
      Object.defineProperty(scope, local, { get: binding(m.scope[local]) });
    }
    // Frozen: an imported function called bare gets the scope as `this`
    // (a `with` artifact); writes through it must fail, not add bindings.
    Object.freeze(scope);
    const meta = { url: m.url, filename: m.name };
    if (m.builtin) meta.host = host;
    const api = {
      meta,
      x(locals) {
        m.locals = locals;
      },
      i(n) {
        const target = mods[m.requests[n]];
        // Loading takes a job in ESM: the target never runs inside the import() call.
        return Promise.resolve().then(() => evaluateTop(target)).then(() => namespace(target));
      },
      f() {
        m.finished = true;
      },
      a() {
        m.tla = true; // awaits at top level (await using included): async whatever its steps do
      },
    };
    m.gen = m.fn(scope)(api);
  }
  for (const m of mods) await m.gen.next();
  await evaluateTop(mods[cfg.entry]);
  for (const fn of finishers) fn();

  // Functions (and classes) cannot leave V8 as data; they are left out.
  const ns = namespace(mods[cfg.entry]);
  const value = {};
  for (const key of Object.keys(ns)) {
    const v = ns[key];
    if (typeof v !== "function") value[key] = v;
  }
  return { namespace: value, declarations };
};
})()
