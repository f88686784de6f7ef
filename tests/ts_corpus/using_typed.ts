const log: string[] = [];
function res(name: string): Disposable { return { [Symbol.dispose]() { log.push("dispose " + name); } }; }
function run() {
  using a: Disposable = res("a");
  using b = res("b") as Disposable;
  log.push("body");
  return log.length;
}
async function runAsync() {
  await using c: AsyncDisposable = { async [Symbol.asyncDispose]() { log.push("async dispose c"); } };
  log.push("async body");
}
export const n = run();
await runAsync();
export const events = log;
