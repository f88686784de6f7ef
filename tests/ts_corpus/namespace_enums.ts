export namespace Shapes {
  export enum Kind { Circle, Square = 4 }
  export const all: Kind[] = [Kind.Circle, Kind.Square];
  export abstract class Shape { abstract area(): number; kind(): Kind { return Kind.Circle; } }
  export class Circle extends Shape { constructor(public r: number) { super(); } area() { return 3 * this.r ** 2; } }
  export function make(r: number): Shape { return new Circle(r); }
  export import K = Shapes.Kind;
  export type Alias = Kind;
}
function local() {
  enum Inner { A = 2, B = A * 3 }
  namespace Scoped { export const s = Inner.B; }
  return [Inner, Scoped.s];
}
export const out = [Shapes.make(2).area(), Shapes.all, Shapes.K.Square, local()];
