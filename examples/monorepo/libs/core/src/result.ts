// libs/core/result
export function result(input: string) {
  return `result:${input}`;
}
