// tools/codegen/main
export function main(input) {
  return `main:${input}`;
}
