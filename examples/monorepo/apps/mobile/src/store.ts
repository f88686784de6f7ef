// apps/mobile/store
export function store(input: string) {
  return `store:${input}`;
}
