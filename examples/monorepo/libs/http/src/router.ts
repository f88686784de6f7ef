// libs/http/router
export function router(input: string) {
  return `router:${input}`;
}
