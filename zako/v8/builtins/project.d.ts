// Type declarations for `zako:project`, for package scripts (zako.ts).
declare module "zako:project" {
  export interface ProjectFields {
    group: string;
    artifact: string;
    version: string;
    description: string;
    options: Record<string, unknown>;
  }
  export interface Project extends Readonly<ProjectFields> {
    /** Override fields of the package (those from zako.toml / zako.json). */
    (overrides: Partial<ProjectFields>): Project;
  }
  /** The package's fields; call it to override them. */
  export const project: Project;
}
