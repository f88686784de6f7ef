// libs/util/strings
export function strings(input) {
  return `strings:${input}`;
}
