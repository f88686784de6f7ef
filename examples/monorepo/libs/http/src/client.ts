// libs/http/client
export function client(input: string) {
  return `client:${input}`;
}
