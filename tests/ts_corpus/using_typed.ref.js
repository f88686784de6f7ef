const log = [];
function res(name) { return { [Symbol.dispose]() { log.push("dispose " + name); } }; }
function run() {
  using a = res("a");
  using b = res("b");
  log.push("body");
  return log.length;
}
async function runAsync() {
  await using c = { async [Symbol.asyncDispose]() { log.push("async dispose c"); } };
  log.push("async body");
}
export const n = run();
await runAsync();
export const events = log;
