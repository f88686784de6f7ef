// libs/i18n/messages
export function messages(input: string) {
  return `messages:${input}`;
}
