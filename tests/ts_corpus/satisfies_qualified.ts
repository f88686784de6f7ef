namespace A { export namespace B { export interface C { v: number } } }
const x = { v: 2 };
export const direct = x satisfies A.B.C;
export const inArray = [x satisfies A.B.C, 3 satisfies number];
export const both = (x as A.B.C) satisfies A.B.C;
