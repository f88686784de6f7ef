// libs/db/query
export function query(input) {
  return `query:${input}`;
}
