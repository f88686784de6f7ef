// Package script: runs once, before any BUILD file, in the "package" context.
import { project } from "zako:package";
import { info, requireZakoVersion, ZakoRuntimeError } from "zako:core";
import { coerce, satisfies } from "zako:semver";
import versions from "./build_defs/versions.json" with { type: "json" };

requireZakoVersion(">=0.1.0");

// The toolchain the rules pin (build_defs/versions.json) must be one this
// project supports: a bump to an untested major fails here, not in a build.
const SUPPORTED = { node: ">=18 <21", typescript: "^5.0.0" };
for (const [tool, range] of Object.entries(SUPPORTED)) {
  const pinned = coerce(versions[tool as keyof typeof SUPPORTED]);
  if (pinned === null || !satisfies(pinned, range)) {
    throw new ZakoRuntimeError(`build_defs/versions.json pins ${tool} ${versions[tool as keyof typeof SUPPORTED]}, outside ${range}`);
  }
}

info(`loading ${project.artifact} ${project.version}`);

project({
  description: `${project.description} (node ${versions.node}, typescript ${versions.typescript})`,
});
