// oracle-differs: tsc: tsc 4.8 leaves `a` unqualified in the second declaration (a ReferenceError at run time, though it type-checks); zako reads N.a there, as esbuild does
// oracle-differs: esbuild: esbuild 0.17 qualifies such a reference only outside nested functions (`++count` in inc() throws); the reference file spells out the TypeScript semantics
export namespace N { export const a = 1; export let count = 0; }
export namespace N { export const more = a + 100; export function inc() { return ++count; } }
export const out = [N.more, N.inc(), N.inc(), N.count];
