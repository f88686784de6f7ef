import { target, glob } from "zako:build";

target({
  name: "site",
  kind: "docs_site",
  srcs: glob(["**/*.md"], { exclude: ["drafts/**"] }),
  deps: ["//services/api:image"],
  attrs: { theme: "plain" },
});
