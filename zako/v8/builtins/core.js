// zako:core -- available to every context.
const host = import.meta.host;

/** The zako version evaluating this script. */
export const version = host.version;

export function trace(...args) {
  host.log("debug", args); // console.trace would append a stack dump
}
export function debug(...args) {
  host.log("debug", args);
}
export function info(...args) {
  host.log("info", args);
}
export function warn(...args) {
  host.log("warn", args);
}
export function error(...args) {
  host.log("error", args);
}
