import { pool } from "./pool";
if (pool("x") !== "pool:x") throw new Error("libs/db: pool broke");
