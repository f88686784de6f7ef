// apps/cli/commands
export function commands(input) {
  return `commands:${input}`;
}
