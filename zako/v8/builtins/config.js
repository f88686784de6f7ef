// zako:config -- config scripts (*.config.ts): declare configuration options.
const host = import.meta.host;

/** Declare configuration options (plain data). */
export function config(spec) {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new TypeError(`config() takes {options}, got ${JSON.stringify(spec)}`);
  }
  for (const key of Object.keys(spec)) {
    if (key !== "options") throw new TypeError(`config(): unknown field ${JSON.stringify(key)} (fields: options)`);
  }
  const options = spec.options === undefined ? {} : host.data(spec.options, "config(): options");
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError("config(): options must be an object");
  }
  host.declare("configs", { options, location: host.location() });
  return options;
}
