export enum Q { "a" = 1, b = a * 2, 'c' = b + 1, d }
export enum K { function = 1, K = 2, default, if = K + 1, class = K * 10, E = 5, Q = 6 }
export enum S { X = "x", Y = X, Z = "z" + "!" }
export const enum Flags { None = 0, A = 1 << 0, B = 1 << 1, AB = A | B }
export const ab = Flags.AB;
export const fromQ = [Q.a, Q.b, Q.c, Q.d, Q[2]];
