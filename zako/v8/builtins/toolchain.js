// zako:toolchain -- toolchain scripts (*.toolchain.ts): declare named tool sets.
const host = import.meta.host;
const NAME = /^[A-Za-z0-9_\-.+]+$/;
const seen = new Map();

/** Declare a toolchain; tools maps tool names to their (data) description. */
export function toolchain(spec) {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new TypeError(`toolchain() takes {name, tools}, got ${JSON.stringify(spec)}`);
  }
  const { name, tools } = spec;
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new TypeError(`toolchain(): invalid name ${JSON.stringify(name)}: use letters, digits and _ - . +`);
  }
  const location = host.location();
  if (seen.has(name)) {
    throw new Error(`duplicate toolchain ${JSON.stringify(name)}: declared at ${seen.get(name)} and again at ${location}`);
  }
  const data = tools === undefined ? {} : host.data(tools, `toolchain(${JSON.stringify(name)}): tools`);
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new TypeError(`toolchain(${JSON.stringify(name)}): tools must be an object`);
  }
  seen.set(name, location);
  host.declare("toolchains", { name, tools: data, location });
  return name;
}
