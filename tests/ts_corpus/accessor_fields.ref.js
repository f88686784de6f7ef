// What TypeScript 5 emits for target ES2022: a private backing field per
// accessor, with a getter/setter pair on the prototype (or the class for static).
export class Acc {
  #x_accessor_storage = 1;
  get x() { return this.#x_accessor_storage; }
  set x(value) { this.#x_accessor_storage = value; }
  static #count_accessor_storage = 0;
  static get count() { return Acc.#count_accessor_storage; }
  static set count(value) { Acc.#count_accessor_storage = value; }
  #plain_accessor_storage;
  get plain() { return this.#plain_accessor_storage; }
  set plain(value) { this.#plain_accessor_storage = value; }
  accessor = "a field named accessor";
  bump() { Acc.count++; return ++this.x; }
}
const a = new Acc();
export const before = [a.x, Acc.count, a.plain];
export const after = [a.bump(), a.bump(), Acc.count, a.x];
export const keys = Object.keys(a);
export const protoKeys = Object.getOwnPropertyNames(Acc.prototype);
