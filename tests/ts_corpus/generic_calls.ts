async function f<A, B>(x: A): Promise<[A, B | null]> { return [x, null]; }
function g<T>(x: T) { return { got: x }; }
function tag<T>(strings: TemplateStringsArray, ...values: T[]) { return strings.raw.join("|") + values.length; }
function id<T>(x: T, y?: T) { return [x, y]; }
class Box<T> { constructor(public v: T) {} map<U>(fn: (x: T) => U): Box<U> { return new Box<U>(fn(this.v)); } }
export const awaited = await (async () => g(await f<number, string>(1)))();
export const tagged = tag<number>`a${1}b${2}c`;
export const tagged2 = tag<string>`plain`;
export const chain = new Box<number>(2).map<string>((x) => String(x * 2)).v;
export const optional = ({ h: id } as { h?: typeof id }).h?.<number>(5);
export const nested = id<Array<Map<string, number>>>([new Map()]).length;
export const arrowGeneric = (<T,>(x: T) => x)(7);
export const cmp = [1 < 2, 3 > 2, (1 < 2) > false];
