function f<T>(x?: unknown, y?: unknown) { return [x, y]; }
export const one = f<typeof import("./_throws.js")>(1);
export const trailing = f<typeof import("./_throws.js")>(2, 3,);
export const inArg = [f<typeof import("./_throws.js")>(4)];
let typed: typeof import("./_throws.js") | undefined;
export const t = typed === undefined;
