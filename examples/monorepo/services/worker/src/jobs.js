// services/worker/jobs
export function jobs(input) {
  return `jobs:${input}`;
}
