// Exported members of a namespace are in scope in every declaration of it.
export var N;
(function (N) { N.a = 1; N.count = 0; })(N || (N = {}));
(function (N) { N.more = N.a + 100; function inc() { return ++N.count; } N.inc = inc; })(N || (N = {}));
export const out = [N.more, N.inc(), N.inc(), N.count];
