// libs/auth/token
export function token(input: string) {
  return `token:${input}`;
}
