// zako:project -- the alias of zako:package (zako's first name for it).
export * from "zako:package";
export { default } from "zako:package";
