// oracle-differs: esbuild: parameter properties come after class fields in esbuild 0.17 (tsc declares them first; see param_props_order.ts)
import type { Point } from "./_types.js";
import { value, type Id } from "./_types.js";
export default interface Config { name: string }
export declare const ambient: number;
declare module "virtual" { export const v: number; }
declare global { interface Window { zako: true } }
export type { Point };
abstract class Repo<T extends { id: Id }> {
  protected abstract readonly kind: string;
  private cache = new Map<Id, T>();
  constructor(protected readonly prefix: string, public limit?: number) {}
  abstract load(id: Id): T | undefined;
  get(id: Id): T | undefined {
    return this.cache.get(id) ?? this.load(id)!;
  }
  static of<U extends { id: Id }>(this: void, items: U[]): Repo<U> {
    return new (class extends Repo<U> {
      protected readonly kind = "mem";
      load(id: Id) { return items.find((i) => i.id === id); }
    })("p", items.length);
  }
}
const repo = Repo.of([{ id: "a", n: 1 }, { id: "b", n: 2 }]);
const isStr = (x: unknown): x is string => typeof x === "string";
function assertNum(x: unknown): asserts x is number { if (typeof x !== "number") throw new TypeError("nan"); }
const tuple = <const>["x", 1];
const pick = <T, K extends keyof T>(o: T, k: K): T[K] => o[k];
const curried = <A,>(a: A): (<B>(b: B) => [A, B]) => (b) => [a, b];
let maybe: string | undefined = "m";
for (const s of [1, 2] as readonly number[]) maybe += String(s);
function over(x: string): string;
function over(x: number): number;
function over(x: any) { return x; }
class WithCtorOverloads { v: unknown; constructor(a: string); constructor(a: number); constructor(a: any) { this.v = a; } }
export const out = [
  repo.get("b"), repo.limit, Object.keys(repo), isStr("q"), tuple, pick({ k: 7 }, "k"), curried(1)(2), maybe,
  over(3), new WithCtorOverloads("w").v, value, (() => { try { assertNum("x"); } catch (e) { return (e as Error).message; } })(),
];
export enum Dir { Up = "UP", Down = "DOWN" }
export function move(d: Dir = Dir.Up): `${Dir}` { return d; }
export const moved = move();
