// TypeScript rule helpers. BUILD files pass in glob() results; the host expands them.
import { spec, type Attrs, type Srcs, type TargetSpec } from "./common.ts";

export function tsLibrary(name: string, srcs: Srcs, deps: string[] = [], attrs: Attrs = {}): TargetSpec {
  return spec("ts_library", name, srcs, deps, { declaration: true, ...attrs });
}

export function tsTest(name: string, srcs: Srcs, deps: string[] = []): TargetSpec {
  return spec("ts_test", name, srcs, deps, { runner: "node:test" });
}

export function tsBinary(name: string, entry: string, deps: string[] = []): TargetSpec {
  return spec("ts_binary", name, [entry], deps, { entry });
}
