// Type declarations for `zako:toolchain`, for toolchain scripts (*.toolchain.ts).
declare module "zako:toolchain" {
  export type Data = null | boolean | number | string | Data[] | { [key: string]: Data };
  export interface ToolchainSpec {
    name: string;
    /** Tool name -> its description, as plain data. */
    tools?: { [tool: string]: Data };
  }
  /** Declare a toolchain; returns its name. */
  export function toolchain(spec: ToolchainSpec): string;
}
