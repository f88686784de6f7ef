const x = "41";
export const raw = String.raw`\u${x}`;
export const raw2 = String.raw`a\xZ${1}\u{`;
function cooked(s: TemplateStringsArray) { return [s[0] === undefined, s.raw[0]]; }
export const c = cooked`\unicode`;
