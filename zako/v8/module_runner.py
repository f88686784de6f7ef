"""Run an ES module graph on an Engine: link in Python, evaluate in one
fresh context.

``execute_module`` asks the loader for the whole graph (resolution, rules,
transform -- all before any JS runs), resolves every import and export
binding (``export *`` included) the way ESM linking does, and builds one
script: the registry of ``builtins/runtime.js`` plus one record per module
whose code the registry evaluates with ``(0, eval)`` and its own ``//# sourceURL`` so
stack frames name the module's file and original line. The engine runs
that script like any other (fresh context, prelude, promise driving, limits,
error mapping) and the namespace and the builtins' declarations come back
as ``ExecutionResult.value`` and ``.declarations``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from importlib import resources
from typing import Any

from blake3 import blake3

from .._version import __version__
from .context_type import ContextType
from .errors import ModuleLoadError
from .loader import LoadedModule, ModuleGraph, ModuleLoader
from .specifier import ModuleSpecifier, ModuleType
from .throw_sites import instrument_throws
from .transpile.ts_locate import locate_syntax_error

__all__ = ["execute_module", "build_script", "link", "DECLARATION_KINDS"]

DECLARATION_KINDS = ("targets", "rules", "toolchains", "configs", "project")
_AMBIGUOUS = ("ambiguous",)


@functools.cache
def _runtime_source() -> str:
    text = resources.files("zako.v8.builtins").joinpath("runtime.js").read_text("utf-8")
    return text.strip().rstrip(";")


class _Linker:
    """ESM ResolveExport / GetExportedNames over a loaded graph."""

    def __init__(self, graph: ModuleGraph) -> None:
        self.graph = graph

    def resolve(self, idx: int, name: str, visiting: set) -> Any:
        """(owner, local) or (module, "*"), None if not found, _AMBIGUOUS."""
        key = (idx, name)
        if key in visiting:
            return None  # circular re-export: not found along this path
        visiting.add(key)
        m = self.graph.modules[idx]
        if m.kind == "error":
            return None
        if m.kind == "json":
            return (idx, "default") if name == "default" else None
        t = m.transform
        for e in t.exports:
            if e.name != name:
                continue
            if e.local is not None:
                for b in t.bindings:  # a re-export of an imported binding
                    if b.local == e.local:
                        dep = m.deps[b.request]
                        return (dep, "*") if b.imported == "*" else self.resolve(dep, b.imported, visiting)
                return (idx, e.local)
            dep = m.deps[e.request]
            return (dep, "*") if e.imported == "*" else self.resolve(dep, e.imported, visiting)
        if name == "default":
            return None  # export * never re-exports a default
        found = None
        for req in t.star_exports:
            r = self.resolve(m.deps[req], name, visiting)
            if r is _AMBIGUOUS:
                return r
            if r is not None:
                if found is not None and found != r:
                    return _AMBIGUOUS
                found = r
        return found

    def exported_names(self, idx: int, seen: set[int]) -> list[str]:
        if idx in seen:
            return []
        seen.add(idx)
        m = self.graph.modules[idx]
        if m.kind == "error":
            return []
        if m.kind == "json":
            return ["default"]
        names = [e.name for e in m.transform.exports]
        for req in m.transform.star_exports:
            for n in self.exported_names(m.deps[req], seen):
                if n != "default" and n not in names:
                    names.append(n)
        return names

    def check_exports(self, m: LoadedModule) -> None:
        """ESM's link-time check of ``export {x} from`` and of exports of
        imported bindings: a name the target lacks, or gets ambiguously
        from two ``export *``, is a SyntaxError before anything runs (used
        or not)."""
        for e in m.transform.exports:
            if e.request is not None:
                dep, imported, request = m.deps[e.request], e.imported, m.transform.requests[e.request]
            else:
                b = next((b for b in m.transform.bindings if b.local == e.local), None)
                if b is None:
                    continue
                dep, imported, request = m.deps[b.request], b.imported, m.transform.requests[b.request]
            if imported == "*":
                continue
            r = self.resolve(dep, imported, set())
            if r is None or r is _AMBIGUOUS:
                problem = "an ambiguous export" if r is _AMBIGUOUS else "no export"
                raise ModuleLoadError(
                    f"cannot re-export {imported!r} from {m.name}:{request.line}: "
                    f"{self.graph.modules[dep].name} (imported as {request.specifier!r}) has {problem} named {imported!r}",
                    importer=m.name,
                    specifier=request.specifier,
                )

    def namespace(self, idx: int) -> dict[str, list]:
        ns = {}
        for name in self.exported_names(idx, set()):
            r = self.resolve(idx, name, set())
            if r is None or r is _AMBIGUOUS:
                continue  # ambiguous star exports are left out, as in ESM
            ns[name] = list(r)
        return ns

    def scope(self, m: LoadedModule) -> dict[str, list]:
        scope = {}
        for b in m.transform.bindings:
            dep = m.deps[b.request]
            if b.imported == "*":
                scope[b.local] = [dep, "*"]
                continue
            r = self.resolve(dep, b.imported, set())
            request = m.transform.requests[b.request]
            target = self.graph.modules[dep].name
            if r is None or r is _AMBIGUOUS:
                problem = "an ambiguous export" if r is _AMBIGUOUS else "no export"
                raise ModuleLoadError(
                    f"cannot import {b.imported!r} from {m.name}:{request.line}: "
                    f"{target} (imported as {request.specifier!r}) has {problem} named {b.imported!r}",
                    importer=m.name,
                    specifier=request.specifier,
                )
            scope[b.local] = list(r)
        return scope


def _static_closure(graph: ModuleGraph) -> set[int]:
    """Modules the entry reaches through static imports (what must link
    before anything runs); the rest load only through import()."""
    seen = {graph.entry}
    todo = [graph.entry]
    while todo:
        m = graph.modules[todo.pop()]
        if m.transform is None:
            continue
        for i, r in enumerate(m.transform.requests):
            dep = m.deps[i]
            if not r.dynamic and dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def link(graph: ModuleGraph) -> list[dict]:
    """Per module: ``scope`` (import bindings) and ``ns`` (exports), resolved
    to ``[owner module, local name]`` or ``[module, "*"]``. Raises
    ``ModuleLoadError`` for an import (or re-export) of a name the target
    does not export, in the entry's static graph; a module loaded only
    through import() that fails to link gets ``error`` instead (its
    evaluation throws that SyntaxError, so the import() rejects)."""
    linker = _Linker(graph)
    static = _static_closure(graph)
    out = []
    for m in graph.modules:
        if m.kind == "error":
            out.append({"scope": {}, "ns": {}, "deps": [], "requests": []})
            continue
        if m.kind == "json":
            out.append({"scope": {}, "ns": {"default": [m.index, "default"]}, "deps": [], "requests": []})
            continue
        requests = m.transform.requests
        try:
            linker.check_exports(m)
            scope = linker.scope(m)
        except ModuleLoadError as exc:
            if m.index in static:
                raise
            out.append({"scope": {}, "ns": {}, "deps": [], "requests": [], "error": ["SyntaxError", str(exc)]})
            continue
        out.append(
            {
                "scope": scope,
                "ns": linker.namespace(m.index),
                "deps": [m.deps[i] for i, r in enumerate(requests) if not r.dynamic],
                "requests": list(m.deps),
            }
        )
    return out


def _error_code(name: str, message: str) -> str:
    return f"(function(){{return async function*(m){{m.x({{}});yield;throw new {name}({json.dumps(message)});}}}})"


def _module_code(m: LoadedModule, error: list | None = None) -> str:
    if error is not None:
        code = _error_code(*error)
    elif m.kind == "json":
        value = json.dumps(m.json_value, ensure_ascii=False, separators=(",", ":"))
        code = f'(function(){{return async function*(m){{const v={value};m.x({{"default":()=>v}});yield;m.f();}}}})'
    elif m.kind == "error":
        code = _error_code(*(m.error or ("Error", "")))
    else:
        code = _with_throw_sites(m.transform.code)
    # sourceURL ends at whitespace: spaces in a path would cut the name short.
    return code + "\n//# sourceURL=" + m.name.replace(" ", "%20")


@functools.lru_cache(maxsize=512)
def _with_throw_sites(code: str) -> str:
    """``throw "text"`` in a module body carries no stack (it runs inside an
    async generator): record the site, as plain scripts do. Line numbers stay;
    columns after an inserted call on the same line move right."""
    return instrument_throws(code)[0]


RUNTIME_GLOBAL = "__zako_run_modules"


@functools.cache
def runtime_prelude() -> str:
    """Defines the registry (hidden global) in the fresh context; handed to
    the engine as an extra prelude so its frames read ``zako:module-runtime``."""
    return (
        f"Object.defineProperty(globalThis,{json.dumps(RUNTIME_GLOBAL)},"
        f"{{value:{_runtime_source()},writable:false,enumerable:false,configurable:false}});"
        "\n//# sourceURL=zako:module-runtime"
    )


#: Module factories one realm keeps compiled (builtins and shared libraries;
#: past this, modules are sent as code each time, so a realm's memory stays bounded).
REALM_FACTORY_LIMIT = 256


def _factory_key(m: LoadedModule, code: str) -> str:
    return _key_of(m.name, code)


@functools.lru_cache(maxsize=1024)
def _key_of(name: str, code: str) -> str:
    # A library's code is the same str object in every graph that imports it
    # (see _with_throw_sites): the lookup costs an identity check, not a hash.
    return blake3(f"{name}\0{code}".encode("utf-8")).hexdigest()[:32]


def build_script(
    graph: ModuleGraph,
    known: set[str] | frozenset[str] = frozenset(),
    *,
    after: str | None = None,
    before: str | None = None,
) -> tuple[str, dict[str, int], set[str]]:
    """The script that links and runs ``graph`` (it calls the engine's
    ``__zako_start`` and settles to ``{namespace, declarations}``), the
    width of the wrapper head on line 1 of each module, by display name, and
    the factory keys the script asks the realm to keep.

    ``known``: factory keys the realm already holds; those modules are sent
    without their code. Only modules other than the entry (builtins, shared
    libraries) are kept: they are what the next evaluations import again.
    ``after``: JS source of a function awaited once the graph has evaluated;
    what it returns replaces the namespace (the conformance runner waits
    there for an async test's ``$DONE``).
    ``before``: JS source of a function called before any module code runs
    (the conformance runner clears what a global script of the realm kept
    from the previous evaluation there).
    """
    links = link(graph)
    records = []
    heads: dict[str, int] = {}
    new_keys: set[str] = set()
    for m, ln in zip(graph.modules, links):
        head = {
            "url": m.specifier.url,
            "name": m.name,
            "builtin": m.specifier.module_type is ModuleType.BUILTIN,
            "deps": ln["deps"],
            "requests": ln["requests"],
            "scope": ln["scope"],
            "ns": ln["ns"],
        }
        if m.transform is not None and "error" not in ln:
            heads[m.name] = m.transform.code.index(";yield;") + len(";yield;")
        code = _module_code(m, ln.get("error"))
        if m.index != graph.entry:
            key = _factory_key(m, code)
            if key in known:
                head["key"] = key
                code = None
            elif len(known) + len(new_keys) < REALM_FACTORY_LIMIT:
                head["key"] = key
                new_keys.add(key)
        if code is not None:
            head["code"] = code
        records.append(json.dumps(head, separators=(",", ":")))
    entry_ctx = graph.modules[graph.entry].context_type  # what zako:context names
    context = json.dumps(entry_ctx.value if entry_ctx is not None else "library")
    cfg = f"{{version:{json.dumps(__version__)},context:{context},entry:{graph.entry},modules:[\n" + ",\n".join(records) + "\n]}"
    # The registry evaluates each module's code inside the started async
    # function, so a module V8 rejects becomes the evaluation's exception.
    # bind, not an arrow: no frame of this script (named after the entry by
    # the engine) shows up in stacks, only the module's and the registry's.
    if after is not None or before is not None:
        run = f"{RUNTIME_GLOBAL}.bind(null,{cfg})"
        first = f"({before})();" if before is not None else ""
        then = f"r.namespace=await ({after})();" if after is not None else ""
        return (f"__zako_start(async function(){{{first}const r=await {run}();"
                f"{then}return r;}});"), heads, new_keys
    return f"__zako_start({RUNTIME_GLOBAL}.bind(null,{cfg}));", heads, new_keys


def _fix_line1_columns(stack: str | None, heads: dict[str, int]) -> str | None:
    """Frames on line 1 of a module count the wrapper head; take it off."""
    if not stack or not heads:
        return stack

    def fix(match: re.Match[str]) -> str:
        name, col = match.group(1), int(match.group(2))
        width = heads.get(name)
        if width is None or col <= width:
            return match.group(0)
        return f"{name}:1:{col - width}"

    return _LINE1.sub(fix, stack)


_LINE1 = re.compile(r"(?<=[\s(])([^\s()]+):1:(\d+)(?=\)|$)", re.M)


def _with_fields(result: Any, **fields: Any) -> Any:
    if dataclasses.is_dataclass(result):
        return dataclasses.replace(result, **fields)
    for k, v in fields.items():
        setattr(result, k, v)
    return result


def _empty_declarations() -> dict[str, list]:
    return {k: [] for k in DECLARATION_KINDS}


def execute_module(
    engine: Any,
    specifier: str | ModuleSpecifier,
    *,
    context_type: ContextType,
    loader: ModuleLoader,
    inputs: dict | None = None,
    cancel_token: Any = None,
    global_scripts: tuple[str, ...] = (),
    after: str | None = None,
    before: str | None = None,
) -> Any:
    """Run the ES module ``specifier`` (and its imports) as ``context_type``.

    Returns the engine's ``ExecutionResult`` with ``value`` the entry's
    namespace as a dict (``"default"`` for the default export; exported
    functions and classes are left out -- they are not data) and
    ``declarations`` what the ``zako:`` builtins recorded, keyed
    ``targets``, ``rules``, ``toolchains``, ``configs``, ``project``, each
    record carrying ``location`` ("file:line"). A JS throw is
    ``result.exception``. Raises ``ModuleLoadError``/``TranspileError``
    before running anything, and the engine's ``V8Error`` family.

    ``global_scripts`` (classic scripts run in the realm before the module,
    e.g. a test harness; a realm is kept per distinct tuple), ``before`` and
    ``after`` (see ``build_script``) serve the test262 runner, not build files.
    """
    context_type = ContextType.coerce(context_type)
    graph = loader.load_graph(specifier, context_type=context_type)
    heads: dict[str, int] = {}

    def script(known: set[str]) -> tuple[str, set[str]]:
        text, line1, new_keys = build_script(graph, known, after=after, before=before)
        heads.update(line1)
        return text, new_keys

    name = graph.modules[graph.entry].name

    def split(payload: Any) -> tuple[Any, dict[str, list]]:
        declarations = _empty_declarations()
        declarations.update(payload.get("declarations") or {})
        return payload.get("namespace", {}), declarations

    result = engine._run(
        script,
        specifier=name,
        inputs=inputs,
        cancel_token=cancel_token,
        extra_prelude=(runtime_prelude(), *global_scripts),
        split_result=split,
        modules=True,
    )
    if result.exception is not None:
        result.exception.stack = _fix_line1_columns(result.exception.stack, heads)
        locate_syntax_error(result.exception, graph.modules)  # eval's SyntaxError has no line: find it
        return _with_fields(result, declarations=_empty_declarations())
    return result
