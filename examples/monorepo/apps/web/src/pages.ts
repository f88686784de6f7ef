// apps/web/pages
export function pages(input: string) {
  return `pages:${input}`;
}
