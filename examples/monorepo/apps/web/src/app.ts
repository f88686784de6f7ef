// apps/web/app
export function app(input: string) {
  return `app:${input}`;
}
