import { session } from "./session";
if (session("x") !== "session:x") throw new Error("libs/auth: session broke");
