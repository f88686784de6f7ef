// libs/ui/theme/spacing
export function spacing(input) {
  return `spacing:${input}`;
}
