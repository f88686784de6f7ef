// Type declarations for `zako:config`, for config scripts (*.config.ts).
declare module "zako:config" {
  export type Data = null | boolean | number | string | Data[] | { [key: string]: Data };
  /** Declare configuration options; returns them. */
  export function config(spec: { options?: { [option: string]: Data } }): { [option: string]: Data };
}
