import { ids } from "./ids";
if (ids("x") !== "ids:x") throw new Error("libs/core: ids broke");
