import { app } from "./app";
if (app("x") !== "app:x") throw new Error("apps/admin: app broke");
