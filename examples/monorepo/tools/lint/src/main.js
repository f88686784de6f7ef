// tools/lint/main
export function main(input) {
  return `main:${input}`;
}
