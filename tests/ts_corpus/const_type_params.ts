function tuple<const T extends readonly unknown[]>(x: T): T { return x; }
class Holder<const T> { constructor(public v: T) {} }
const arrow = <const T,>(x: T) => x;
export const out = [tuple([1, "a"]), new Holder({ k: 1 }).v, arrow(true)];
