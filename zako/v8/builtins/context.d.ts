// Type declarations for `zako:context`, available to every context type.
declare module "zako:context" {
  /** The context type of the running script. */
  export const name: "package" | "build" | "rule" | "toolchain" | "config" | "library";
  /** The project's resolved config: manifest defaults, `zako load --config name=value` overrides. */
  export const config: { readonly [name: string]: boolean | number | string };
  /** One config value; throws ZakoRuntimeError when the manifest declares no such config. */
  export function getConfig(name: string): boolean | number | string;
}
