// tools/lint/rules
export function rules(input) {
  return `rules:${input}`;
}
