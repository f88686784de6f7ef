namespace A { export namespace B { export interface C { v: number } } }
const x = { v: 1 };
export const direct = x as A.B.C;
export const inCall = [x as A.B.C, (x as A.B.C).v];
export const deeper = x as unknown as A.B.C;
export const member = (x as A.B.C).v + 1;
export const cond = true ? (x as A.B.C) : null;
