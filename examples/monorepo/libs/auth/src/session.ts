// libs/auth/session
export function session(input: string) {
  return `session:${input}`;
}
