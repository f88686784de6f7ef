export const make = (a: number): {
  x: number;
  y: number;
} => ({ x: a, y: a * 2 });
export const made = make(3);
export const gen = <T,>(x: T): Array<
  T
> => [x, x];
export const g = gen("a");
export const asyncArrow = async (a: number): Promise<
  number
> => a + 1;
export const awaitedArrow = await asyncArrow(1);
