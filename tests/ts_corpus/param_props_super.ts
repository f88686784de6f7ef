// oracle-differs: esbuild: esbuild 0.17 does not declare parameter properties as fields, so their keys follow the class fields (tsc declares them first)
class B { constructor(public b: number) {} }
export class C extends B {
  constructor(b: number, public c: number) {
    super(b)
  }
}
export class D extends B {
  constructor(public d: number) {
    super(d * 2)
    this.after = this.d + 1
  }
  after: number;
}
export const c = new C(1, 2);
export const d = new D(5);
export const keys = [Object.keys(c), Object.keys(d)];
