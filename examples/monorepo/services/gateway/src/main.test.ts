import { main } from "./main";
if (main("x") !== "main:x") throw new Error("services/gateway: main broke");
