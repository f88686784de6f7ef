// libs/core/ids
export function ids(input: string) {
  return `ids:${input}`;
}
