import { strings } from "./strings";
if (strings("x") !== "strings:x") throw new Error("libs/util: strings broke");
