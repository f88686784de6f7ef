// libs/core/clock
export function clock(input: string) {
  return `clock:${input}`;
}
