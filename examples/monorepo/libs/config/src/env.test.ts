import { env } from "./env";
if (env("x") !== "env:x") throw new Error("libs/config: env broke");
