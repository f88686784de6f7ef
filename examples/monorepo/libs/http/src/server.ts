// libs/http/server
export function server(input: string) {
  return `server:${input}`;
}
