// TypeScript rule helpers. BUILD files pass in glob() results; the host expands them.
import { spec, type TargetSpec } from "./common.ts";

export function tsLibrary(name: string, srcs: unknown, deps: string[] = [], attrs = {}): TargetSpec {
  return spec("ts_library", name, srcs, deps, { declaration: true, ...attrs });
}

export function tsTest(name: string, srcs: unknown, deps: string[] = []): TargetSpec {
  return spec("ts_test", name, srcs, deps, { runner: "node:test" });
}

export function tsBinary(name: string, entry: string, deps: string[] = []): TargetSpec {
  return spec("ts_binary", name, [entry], deps, { entry });
}
