// libs/i18n/plural
export function plural(input: string) {
  return `plural:${input}`;
}
