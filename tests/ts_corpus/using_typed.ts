const log: string[] = [];
function res(name: string): Disposable { return { [Symbol.dispose]() { log.push("dispose " + name); } }; }
function run() {
  using a: Disposable = res("a");
  using b = res("b") as Disposable;
  log.push("body");
  return log.length;
}
export const n = run();
export const events = log;
