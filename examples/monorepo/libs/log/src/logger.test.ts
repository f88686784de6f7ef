import { logger } from "./logger";
if (logger("x") !== "logger:x") throw new Error("libs/log: logger broke");
