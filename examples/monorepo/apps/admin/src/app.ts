// apps/admin/app
export function app(input: string) {
  return `app:${input}`;
}
