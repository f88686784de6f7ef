// Package script: runs once, before any BUILD file, in the "package" context.
import { project } from "zako:project";
import { info } from "zako:core";
import versions from "./build_defs/versions.json" with { type: "json" };

info(`loading ${project.artifact} ${project.version}`);

project({
  description: `${project.description} (node ${versions.node}, typescript ${versions.typescript})`,
});
