// libs/config/schema
export function schema(input: string) {
  return `schema:${input}`;
}
