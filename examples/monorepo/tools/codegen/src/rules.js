// tools/codegen/rules
export function rules(input) {
  return `rules:${input}`;
}
