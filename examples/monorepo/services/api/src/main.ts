// services/api/main
export function main(input: string) {
  return `main:${input}`;
}
