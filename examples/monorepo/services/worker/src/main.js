// services/worker/main
export function main(input) {
  return `main:${input}`;
}
