// apps/mobile/app
export function app(input: string) {
  return `app:${input}`;
}
