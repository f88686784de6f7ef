// libs/util/arrays
export function arrays(input) {
  return `arrays:${input}`;
}
