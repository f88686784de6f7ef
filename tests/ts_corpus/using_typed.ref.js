const log = [];
function res(name) { return { [Symbol.dispose]() { log.push("dispose " + name); } }; }
function run() {
  using a = res("a");
  using b = res("b");
  log.push("body");
  return log.length;
}
export const n = run();
export const events = log;
