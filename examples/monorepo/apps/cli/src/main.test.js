import { main } from "./main";
if (main("x") !== "main:x") throw new Error("apps/cli: main broke");
