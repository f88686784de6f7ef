// JavaScript rule helpers, for packages that are not TypeScript.
import { spec } from "./common.ts";

export function jsLibrary(name, srcs, deps = [], attrs = {}) {
  return spec("js_library", name, srcs, deps, { module: "esm", ...attrs });
}

export function jsBinary(name, entry, deps = []) {
  return spec("js_binary", name, [entry], deps, { entry });
}
