type Cfg = { a: number; b?: string };
export const obj = { a: 1 } satisfies Cfg;
export const arr = [1, 2] satisfies number[];
export const call = Math.max(1 satisfies number, 2);
export const fn = ((x: number) => x * 2) satisfies (x: number) => number;
export const tpl = `v${3 satisfies number}`;
export const nested = ({ a: 1 } satisfies Cfg).a;
export default { d: true } satisfies Record<string, boolean>;
