// Type declarations for `zako:project`: the alias of `zako:package`.
declare module "zako:project" {
  export * from "zako:package";
  import project from "zako:package";
  export default project;
}
