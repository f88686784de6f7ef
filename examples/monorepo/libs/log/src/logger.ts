// libs/log/logger
export function logger(input: string) {
  return `logger:${input}`;
}
