// libs/util/retry
export function retry(input) {
  return `retry:${input}`;
}
