// apps/web/store
export function store(input: string) {
  return `store:${input}`;
}
