// libs/ui/theme/colors
export function colors(input) {
  return `colors:${input}`;
}
