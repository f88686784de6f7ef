// services/gateway/handlers
export function handlers(input: string) {
  return `handlers:${input}`;
}
