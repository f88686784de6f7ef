// services/api/handlers
export function handlers(input: string) {
  return `handlers:${input}`;
}
