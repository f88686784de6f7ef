// libs/config/env
export function env(input: string) {
  return `env:${input}`;
}
