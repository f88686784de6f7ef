// libs/db/migrate
export function migrate(input) {
  return `migrate:${input}`;
}
