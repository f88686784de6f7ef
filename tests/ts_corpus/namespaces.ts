export namespace N {
  export const a = 1;
  const hidden = 2;
  export function f() { return a + hidden; }
  export class K { v = a; }
  export let counter = 0;
  export function bump() { counter++; return counter; }
  export namespace Inner { export const deep = a * 10; }
}
namespace N { export const more = 100; }
export namespace A.B.C { export const abc = "abc"; }
namespace TypesOnly { export interface I { x: number } export type T = string; }
declare namespace Ambient { const z: number; }
export module Old { export const m = "module keyword"; }
export const calls = [N.f(), N.bump(), N.bump(), N.counter, new N.K().v, N.Inner.deep, N.more, A.B.C.abc];
export function merged() { return 1; }
export namespace merged { export const extra = 2; }
export const mergedOut = [merged(), merged.extra];
