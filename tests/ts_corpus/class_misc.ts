export class A {
  declare d: number;
  private x = 1;
  protected static readonly y?: number = 2;
  public z!: string;
  [k: string]: unknown;
  m(this: A, n?: number): number;
  m(n?: number): number { return (n ?? 0) + this.x; }
  override toString(): string { return "A"; }
  static #priv = 3;
  static get priv() { return A.#priv; }
  #own = 4;
  get own() { return this.#own; }
}
export const a = new A();
export const values = [a.m(1), A.priv, a.own, Object.keys(a)];
