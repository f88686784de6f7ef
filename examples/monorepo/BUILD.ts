import { target } from "zako:build";

// The root package: one target that stands for everything shippable.
target({
  name: "all",
  kind: "group",
  srcs: [],
  deps: ["//apps/web:web", "//apps/admin:admin", "//apps/mobile:mobile", "//apps/cli:shop-cli",
         "//services/api:image", "//services/gateway:image", "//services/billing:image",
         "//services/worker:worker", "//docs:site"],
});
