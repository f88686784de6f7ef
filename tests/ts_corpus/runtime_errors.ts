enum E { A = 1 }
class C { constructor(public x: number) { if (x < 0) throw new RangeError("negative: " + x); } }
export const ok = new C(1).x as number;
new C(-1 as number);
