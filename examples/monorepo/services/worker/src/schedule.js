// services/worker/schedule
export function schedule(input) {
  return `schedule:${input}`;
}
