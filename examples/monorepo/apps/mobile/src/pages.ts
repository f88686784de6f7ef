// apps/mobile/pages
export function pages(input: string) {
  return `pages:${input}`;
}
