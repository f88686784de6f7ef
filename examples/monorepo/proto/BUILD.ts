import { target, glob } from "zako:build";

// Every .proto in this directory, generated into TypeScript by //tools/codegen.
target({ name: "protos", kind: "proto_library", srcs: glob(["*.proto"]), deps: [] });
target({ name: "ts", kind: "proto_ts", srcs: [], deps: [":protos", "//tools/codegen:codegen"], attrs: { out: "gen" } });
