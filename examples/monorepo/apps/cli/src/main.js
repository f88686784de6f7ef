// apps/cli/main
export function main(input) {
  return `main:${input}`;
}
