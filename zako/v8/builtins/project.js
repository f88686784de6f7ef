// zako:project -- package scripts (zako.ts). `project` reads as the package's
// fields (from the manifest the host passes as executionContext.project) and,
// called with an object, overrides them.
const host = import.meta.host;
const FIELDS = ["group", "artifact", "version", "description", "options"];
const inputs = host.inputs && typeof host.inputs === "object" ? host.inputs.project : undefined;
const manifest = inputs && typeof inputs === "object" ? host.data(inputs, "executionContext.project") : {};

const state = {
  group: manifest.group ?? null,
  artifact: manifest.artifact ?? null,
  version: manifest.version ?? null,
  description: manifest.description ?? null,
  options: manifest.options ?? {},
  location: null,
};
host.declare("project", state);

function check(field, value) {
  if (field === "options") {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new TypeError(`project(): options must be an object, got ${JSON.stringify(value)}`);
    }
    return host.data(value, "project().options");
  }
  if (typeof value !== "string") {
    throw new TypeError(`project(): ${field} must be a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function project(overrides) {
  if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) {
    throw new TypeError(`project() takes an object of fields (${FIELDS.join(", ")}), got ${JSON.stringify(overrides)}`);
  }
  const next = {};
  for (const key of Object.keys(overrides)) {
    if (!FIELDS.includes(key)) {
      throw new TypeError(`project(): unknown field ${JSON.stringify(key)} (fields: ${FIELDS.join(", ")})`);
    }
    if (overrides[key] !== undefined) next[key] = check(key, overrides[key]);
  }
  Object.assign(state, next); // all fields checked first: a bad call changes nothing
  state.location = host.location();
  return project;
}

for (const field of FIELDS) {
  Object.defineProperty(project, field, {
    get: () => (field === "options" ? host.data(state.options, "options") : state[field]),
    enumerable: true,
  });
}
