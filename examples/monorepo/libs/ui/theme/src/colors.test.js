import { colors } from "./colors";
if (colors("x") !== "colors:x") throw new Error("libs/ui/theme: colors broke");
