// libs/log/format
export function format(input: string) {
  return `format:${input}`;
}
