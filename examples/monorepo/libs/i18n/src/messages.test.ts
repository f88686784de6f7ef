import { messages } from "./messages";
if (messages("x") !== "messages:x") throw new Error("libs/i18n: messages broke");
