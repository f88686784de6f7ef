// Type declarations for `zako:core`, available to every context type.
declare module "zako:core" {
  /** The version of zako evaluating this script. */
  export const version: string;
  /** Log at debug level (Python logger `zako.js`). */
  export function trace(...args: unknown[]): void;
  export function debug(...args: unknown[]): void;
  export function info(...args: unknown[]): void;
  export function warn(...args: unknown[]): void;
  export function error(...args: unknown[]): void;
}
