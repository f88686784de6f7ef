// libs/ui/components/button
export function button(input: string) {
  return `button:${input}`;
}
