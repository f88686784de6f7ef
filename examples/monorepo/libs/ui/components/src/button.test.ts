import { button } from "./button";
if (button("x") !== "button:x") throw new Error("libs/ui/components: button broke");
