// libs/auth/password
export function password(input: string) {
  return `password:${input}`;
}
