export class Acc {
  accessor x = 1;
  static accessor count = 0;
  accessor plain: string | undefined;
  accessor = "a field named accessor";
  bump() { Acc.count++; return ++this.x; }
}
const a = new Acc();
export const before = [a.x, Acc.count, a.plain];
export const after = [a.bump(), a.bump(), Acc.count, a.x];
export const keys = Object.keys(a);
export const protoKeys = Object.getOwnPropertyNames(Acc.prototype);
