// oracle-differs: esbuild: esbuild 0.17 assigns parameter properties without declaring them as fields first; tsc (target ES2022) declares them, so keys come in a different order
const log: string[] = [];
class Base {
  set late(v: number) { log.push("base setter " + v); }
}
export class P extends Base {
  first = 1;
  second = this.first + 1;
  constructor(public late: number, private readonly hidden: string, protected z = 3) {
    super();
    log.push("ctor body");
  }
}
export class Q {
  field = "f";
  constructor(public a: number, public b?: string) {}
}
const p = new P(10, "h");
export const keysP = Object.keys(p);
export const pValues = [p.late, p.first, p.second];
export const keysQ = Object.keys(new Q(1));
export const events = log;
