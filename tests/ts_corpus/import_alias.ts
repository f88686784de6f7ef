namespace N { export const y = 3; export namespace M { export const z = 4; } export interface T { a: 1 } }
import Y = N.y;
import Z = N.M.z;
import MM = N.M;
import TT = N.T;
export import E = N.M;
const t: TT = { a: 1 };
export const out = [Y, Z, MM.z, t.a, E.z];
