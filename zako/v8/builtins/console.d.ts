// Type declarations for `zako:console`, available to every context type.
declare module "zako:console" {
  /** Each level goes to the Python logger `zako.js` (trace: -vv, debug: -v; log is info). */
  export class Console {
    trace(...args: unknown[]): void;
    debug(...args: unknown[]): void;
    log(...args: unknown[]): void;
    info(...args: unknown[]): void;
    warn(...args: unknown[]): void;
    error(...args: unknown[]): void;
  }
  export const console: Console;
  export default console;
}
