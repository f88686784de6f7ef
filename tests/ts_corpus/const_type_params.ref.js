function tuple(x) { return x; }
class Holder { v; constructor(v) { this.v = v; } }
const arrow = (x) => x;
export const out = [tuple([1, "a"]), new Holder({ k: 1 }).v, arrow(true)];
