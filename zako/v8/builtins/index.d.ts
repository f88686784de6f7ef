// All `zako:` builtin module declarations. Point tsconfig's "types" or
// "include" at this file (or copy it next to your build files) so editors
// complete `import ... from "zako:build"` and friends.
/// <reference path="./core.d.ts" />
/// <reference path="./semver.d.ts" />
/// <reference path="./console.d.ts" />
/// <reference path="./context.d.ts" />
/// <reference path="./package.d.ts" />
/// <reference path="./project.d.ts" />
/// <reference path="./build.d.ts" />
/// <reference path="./rule.d.ts" />
/// <reference path="./toolchain.d.ts" />
/// <reference path="./config.d.ts" />
