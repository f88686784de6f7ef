// zako:rule -- rule scripts (*.rule.ts): declare rule kinds and their attributes.
const host = import.meta.host;
const NAME = /^[A-Za-z0-9_\-.+]+$/;
const seen = new Map();

/** Declare a rule; attrs maps attribute names to their (data) schema. */
export function rule(spec) {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new TypeError(`rule() takes {name, attrs}, got ${JSON.stringify(spec)}`);
  }
  const { name, attrs } = spec;
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new TypeError(`rule(): invalid name ${JSON.stringify(name)}: use letters, digits and _ - . +`);
  }
  const location = host.location();
  if (seen.has(name)) {
    throw new Error(`duplicate rule ${JSON.stringify(name)}: declared at ${seen.get(name)} and again at ${location}`);
  }
  const data = attrs === undefined ? {} : host.data(attrs, `rule(${JSON.stringify(name)}): attrs`);
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new TypeError(`rule(${JSON.stringify(name)}): attrs must be an object`);
  }
  seen.set(name, location);
  host.declare("rules", { name, attrs: data, location });
  return name;
}
