// services/billing/main
export function main(input: string) {
  return `main:${input}`;
}
