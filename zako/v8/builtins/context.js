// zako:context -- available to every context: what kind of script is
// running, and the project's resolved config (manifest defaults, overridden
// by `zako load --config name=value`).
import { ZakoRuntimeError } from "zako:core";

const host = import.meta.host;

/** The context type of the running script: "package", "build", "rule",
 * "toolchain", "config" or "library". */
export const name = host.context;

const inputs = host.inputs && typeof host.inputs === "object" ? host.inputs : {};
const project = inputs.project && typeof inputs.project === "object" ? inputs.project : {};
const values = project.config && typeof project.config === "object" ? host.data(project.config, "config") : {};

/** Every config value by name (a frozen copy). */
export const config = Object.freeze(values);

/** The value of config `key`; ZakoRuntimeError when the manifest declares no such config. */
export function getConfig(key) {
  if (!Object.prototype.hasOwnProperty.call(values, key)) {
    const known = Object.keys(values).sort().join(", ") || "none declared";
    throw new ZakoRuntimeError(`no config named ${JSON.stringify(key)} in the manifest (config: ${known})`);
  }
  return values[key];
}
