// libs/db/pool
export function pool(input) {
  return `pool:${input}`;
}
