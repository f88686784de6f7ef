// services/billing/routes
export function routes(input: string) {
  return `routes:${input}`;
}
