// libs/ui/components/modal
export function modal(input: string) {
  return `modal:${input}`;
}
