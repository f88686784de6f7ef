export type * as ns from "./_types.js";
interface Variance<in T, out U, in out V> { f(t: T): U; v: V }
//////////////////////////////////////////////////////////////////// a banner, then variance after comments
interface Commented<
  /** @ts-ignore Cast variance */
  out T,
  // a line comment
  in U = unknown,
> { t: T; u: U }
let typed: import("./_types.js").Point | undefined;
let typedGeneric: import("./_types.js").Shapes.Box extends infer X ? Array<X> : never;
interface SvgAttrs {
  href?: string
  in2?: number
  in?: string
}
interface WithAbstract { in?: string; abstract: boolean; declare: string; readonly: number; static: 1 }
type Mapped<T> = { readonly [K in keyof T]-?: T[K] };
function assertIsNumber(x: unknown): asserts x is number {}
abstract class Shape { abstract area(): number; describe() { return "area " + this.area(); } }
class Sq extends Shape { constructor(private s: number) { super(); } area() { return this.s ** 2; } }
const w: WithAbstract = { abstract: true, declare: "d", readonly: 1, static: 1 };
export const out = [typed, typedGeneric ?? null, w.abstract, new Sq(3).describe()];
let definite!: number;
definite = 4;
export const nonNull = [definite!, ([1, 2] as number[])[0]!];
export const angle = <number>(<unknown>"5" as any);
