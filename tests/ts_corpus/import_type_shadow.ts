import { Point, Id, value } from "./_types.js";
import { never } from "./_throws.js";
const o = { Point: 1, never: 2 };
function usePoint(Point: number) { return Point + 1; }
function shadow() { const never = 5; return never; }
const p: Point = { x: 1, y: 2 };
const n: typeof never | undefined = undefined;
export const out = [o.Point, o.never, usePoint(1), shadow(), p.x, value, n];
export type { Id };
