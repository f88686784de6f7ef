// Type declarations for `zako:rule`, for rule scripts (*.rule.ts).
declare module "zako:rule" {
  export type Data = null | boolean | number | string | Data[] | { [key: string]: Data };
  export interface RuleSpec {
    name: string;
    /** Attribute name -> its schema, as plain data. */
    attrs?: { [attribute: string]: Data };
  }
  /** Declare a rule; returns its name. */
  export function rule(spec: RuleSpec): string;
}
