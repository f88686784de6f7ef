// zako:console -- available to every context: the original Zako's Console,
// each level routed to the Python logger `zako.js` (trace shows with -vv,
// debug with -v; log is info).
const host = import.meta.host;

export class Console {
  trace(...args) {
    host.log("trace", args);
  }
  debug(...args) {
    host.log("debug", args);
  }
  log(...args) {
    host.log("info", args);
  }
  info(...args) {
    host.log("info", args);
  }
  warn(...args) {
    host.log("warn", args);
  }
  error(...args) {
    host.log("error", args);
  }
}

export const console = new Console();
export default console;
