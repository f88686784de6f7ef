"""The JavaScript side of the ``zako:`` builtin modules.

Each ``<name>.js`` here is an ES module served as ``zako:<name>`` and goes
through the same transform as user code; ``<name>.d.ts`` declares its types
for editors (``index.d.ts`` references them all). ``runtime.js`` is the
module registry the runner inlines; it is not importable.

Builtins reach the host through ``import.meta.host`` (given to ``zako:``
modules only): ``declare(kind, record)``, ``location()``, ``log(level,
args)``, ``inputs`` (``globalThis.executionContext``), ``version``,
``onFinish(fn)``.
"""
