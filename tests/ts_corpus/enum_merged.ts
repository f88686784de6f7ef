export enum E { A, B }
export enum E { C = 10, D }
enum Local { X = 1 }
enum Local { Y = 2 }
export const viaLocal = [Local.X, Local.Y, Local[2]];
