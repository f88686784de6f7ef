// Describes a module namespace as JSON-able data, identically under node and
// zako, so exports can be compared across transpilers by behaviour: key order,
// property kinds (value/get/set), functions and classes by their shape.
function describeFunction(f, seen, depth) {
  const proto = f.prototype;
  return {
    $fn: f.name,
    length: f.length,
    statics: ownProps(f, seen, depth, ["length", "name", "prototype", "arguments", "caller"]),
    proto: proto && typeof proto === "object" ? ownProps(proto, seen, depth, ["constructor"]) : null,
  };
}

function ownProps(o, seen, depth, skip) {
  const out = [];
  for (const k of Reflect.ownKeys(o)) {
    if (skip.includes(k)) continue;
    const d = Object.getOwnPropertyDescriptor(o, k);
    const key = typeof k === "symbol" ? `@@${k.description}` : k;
    if ("value" in d) out.push([key, d.enumerable ? "v" : "v-hidden", describe(d.value, seen, depth + 1)]);
    else out.push([key, (d.get ? "get" : "") + (d.set ? "set" : "")]);
  }
  return out;
}

export function describe(v, seen = [], depth = 0) {
  if (depth > 8) return "$deep";
  switch (typeof v) {
    case "undefined":
      return { $undefined: true };
    case "number":
      return Number.isFinite(v) ? (Object.is(v, -0) ? "$-0" : v) : `$${v}`;
    case "bigint":
      return `$${v}n`;
    case "symbol":
      return `$symbol(${v.description})`;
    case "string":
    case "boolean":
      return v;
  }
  if (v === null) return null;
  if (seen.includes(v)) return "$cycle";
  seen = [...seen, v];
  if (typeof v === "function") return describeFunction(v, seen, depth);
  if (Array.isArray(v)) return v.map((x) => describe(x, seen, depth + 1));
  const proto = Object.getPrototypeOf(v);
  const kind = proto === null ? "null" : proto === Object.prototype ? "Object" : proto.constructor && proto.constructor.name;
  return { $proto: kind, props: ownProps(v, seen, depth, []) };
}

export function describeError(e) {
  if (e instanceof Error) return { type: e.constructor.name, message: e.message };
  return { type: typeof e, value: describe(e) };
}

// Namespace objects themselves are the module system's business, not the
// transpiler's: compare only the exported names and their values.
export function describeNamespace(ns) {
  const out = {};
  for (const k of Object.keys(ns).sort()) out[k] = describe(ns[k]);
  return out;
}
