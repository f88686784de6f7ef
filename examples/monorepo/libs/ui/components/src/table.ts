// libs/ui/components/table
export function table(input: string) {
  return `table:${input}`;
}
