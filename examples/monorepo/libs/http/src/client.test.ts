import { client } from "./client";
if (client("x") !== "client:x") throw new Error("libs/http: client broke");
