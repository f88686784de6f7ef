"""ModuleLoader: resolves specifiers, enforces who may import what, reads
and transforms sources, and collects a whole import graph before anything
runs (mini-racer has no module loader of its own).

Rules (each refusal is a ``ModuleLoadError`` naming importer, specifier and
rule):

- a builtin (``zako:``) module may import only builtins;
- a memory (``zako-memory:``) module may import only builtins;
- a file module may import files, builtins and import-map names;
- relative specifiers (``./``, ``../``) resolve against the importer's
  directory, bare paths (``lib/x.ts``) against the project root, absolute
  paths and ``file:`` URLs as given -- and nothing may resolve outside the
  root (checked on the real path, so symlinks cannot escape either);
- a path without a known file resolves by trying, in order: the path
  itself, ``.ts``, ``.js``, ``/index.ts``, ``/index.js``; a ``.js`` path
  that does not exist falls back to the ``.ts`` file next to it (the
  TypeScript convention of importing the output name);
- ``.json`` files are imported only with ``with { type: "json" }`` and
  give their parsed value as the default export;
- an imported file must be a library (or JSON): a ``BUILD.ts``,
  ``zako.ts``, ``*.rule.ts``... runs as its own context, never as a
  dependency of another;
- a module may import ``zako:<x>`` only if its context type allows ``x``;
  imported libraries are library contexts whoever imports them, so they get
  the common builtins only (``zako:core``, ``zako:semver``, ``zako:console``,
  ``zako:context``), while the entry gets what its context type allows.
"""

from __future__ import annotations

import functools
import json
import os
import stat
import threading
from collections.abc import Mapping
from typing import Any
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import quote_from_bytes, unquote, urlparse

from .context_type import BUILTIN_NAMES, COMMON_BUILTINS, ContextType
from .errors import ModuleLoadError, TranspileError
from .specifier import ModuleSpecifier, ModuleType
from .transpile import TransformCache, TransformResult, cached_transform, is_typescript_filename, transform

__all__ = ["ModuleLoader", "LoadedModule", "ModuleGraph", "observe_path"]

_EXTENSION_ORDER = (".ts", ".js")
_INDEX_FILES = ("index.ts", "index.js")


@dataclass(slots=True)
class LoadedModule:
    """One module of a graph. ``deps[i]`` is the graph index of the module
    ``transform.requests[i]`` resolved to."""

    index: int
    specifier: ModuleSpecifier
    name: str  # root-relative path for files, the url otherwise; used in traces
    kind: str  # "js", "json", or "error": an import() target that failed to load
    context_type: ContextType | None  # None for builtins
    source: str
    transform: TransformResult | None = None
    json_value: object = None
    deps: list[int] = field(default_factory=list)
    #: kind "error": (JS error name, message) its import() rejects with
    error: tuple[str, str] | None = None


@dataclass(slots=True)
class ModuleGraph:
    """``probes``: every path resolution looked at, as (root-relative path,
    ``observe_path`` result) in first-look order -- the candidates that lost
    (a missing ``mod.ts`` before ``mod/index.ts``) as well as the winners. A
    cache keyed by these sees an edit that would change what an import
    resolves to, not only edits of the files that were read."""

    modules: list[LoadedModule]
    entry: int
    probes: list[tuple[str, str]] = field(default_factory=list)


# Never produced by ``observe_path``: a path seen two ways within one graph
# load (edited while loading) can then never match a later observation.
_CONFLICT = "conflict"


def _observe(path: str, root: str, dirs: dict[str, str] | None = None) -> tuple[str, str | None]:
    # lstat first: for the common non-link file it is the only call needed
    # besides the (memoized) real paths of its directories.
    try:
        mode = os.lstat(path).st_mode
        link = stat.S_ISLNK(mode)
        if link:
            mode = os.stat(path).st_mode
    except (OSError, ValueError):  # what os.path.isfile treats as "not a file"
        return "missing", None
    if stat.S_ISREG(mode):
        if link or dirs is None:
            real = os.path.realpath(path)
        else:
            # With ``dirs`` (directory -> real path, for one state of the
            # tree) each directory costs one lstat once, instead of one per
            # component for every file as in realpath.
            parent, name = os.path.split(path)
            real = os.path.join(_real_dir(parent, dirs), name)
        return "file:" + _rel(real, root), real
    return ("dir" if stat.S_ISDIR(mode) else "other"), None


def _real_dir(directory: str, dirs: dict[str, str]) -> str:
    real = dirs.get(directory)
    if real is None:
        parent, name = os.path.split(directory)
        if not name or parent == directory or os.path.islink(directory):
            real = os.path.realpath(directory)
        else:
            real = os.path.join(_real_dir(parent, dirs), name)
        dirs[directory] = real
    return real


def _rel(path: str, root: str) -> str:
    prefix = root.rstrip(os.sep) + os.sep
    if path.startswith(prefix):
        rel = path[len(prefix):]
    else:
        rel = os.path.relpath(path, root)
    return rel.replace(os.sep, "/")


def observe_path(path: str, root: str, dirs: dict[str, str] | None = None) -> str:
    """What module resolution sees at ``path`` (a normalized absolute path)
    in the project whose real root is ``root``: ``"missing"``, ``"dir"``,
    ``"other"``, or ``"file:<root-relative real path>"`` (a symlink anywhere
    on the way shows as the file it leads to, so re-pointing it changes the
    observation). ``dirs``: a memo of directories' real paths, valid while
    the tree does not change (one load). Cost: one or two ``lstat``."""
    return _observe(path, root, dirs)[0]


@functools.cache
def _builtin_source(name: str) -> str:
    return resources.files("zako.v8.builtins").joinpath(f"{name}.js").read_text("utf-8")


class ModuleLoader:
    """Loads modules of one project.

    ``root``: the project directory (must exist); nothing outside it loads.
    ``import_map``: ``{"@name": target}`` where a target is a root-relative
    path, a ``file:`` URL inside the root, or a ``zako:`` builtin; a key
    ending in ``/`` maps every specifier with that prefix.
    ``transform_cache``: where transformed sources are kept (the
    process-wide LRU when ``None``). ``memory_modules``: ``{name: source}``
    registered as with ``add_memory_module`` (TypeScript allowed).
    Thread-safe for concurrent graph loads.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        import_map: Mapping[str, str] | None = None,
        transform_cache: TransformCache | None = None,
        memory_modules: Mapping[str, str] | None = None,
        snapshot: bool = False,
    ) -> None:
        root_path = Path(os.path.realpath(os.fspath(root)))
        if not root_path.is_dir():
            raise ValueError(f"project root {os.fspath(root)!r} is not a directory")
        self.root = root_path
        self._root_prefix = str(root_path).rstrip("/") + "/"
        self.transform_cache = transform_cache
        # snapshot: the tree is taken as it was first seen, for this loader's
        # life (one load). Each path is observed and each file read once, so
        # the libraries thousands of build files share cost nothing after the
        # first; every graph still records the probes and the text it used.
        self._snapshot = snapshot
        self._observed: dict[str, tuple[str, str | None]] = {}
        # real paths of directories: one lstat per directory for the load
        # instead of one per path component for every file (os.path.realpath)
        self._dirs: dict[str, str] = {}
        self._uris: dict[str, ModuleSpecifier] = {}
        self._reads: dict[tuple[str, str, Any], LoadedModule] = {}
        self._resolved: dict[tuple[Any, ...], tuple[ModuleSpecifier, tuple[tuple[str, str], ...]]] = {}
        self._memory: dict[str, tuple[str, bool]] = {}
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()
        self.import_map: dict[str, str] = {}
        for key, target in (import_map or {}).items():
            spec = ModuleSpecifier.parse(key)
            if spec.module_type is not ModuleType.IMPORT_MAP:
                raise ModuleLoadError(f"import-map key {key!r} must start with '@'", specifier=key)
            tspec = ModuleSpecifier.parse(target)
            if tspec.module_type not in (ModuleType.FILE, ModuleType.BUILTIN):
                raise ModuleLoadError(
                    f"import-map entry {key!r} -> {target!r}: a target must be a path, file: URL or zako: builtin",
                    specifier=target,
                )
            self.import_map[key] = target
        for name, source in (memory_modules or {}).items():
            self.add_memory_module(name, source)

    # --- memory modules --------------------------------------------------------

    def add_memory_module(self, name: str, source: str, *, typescript: bool = True) -> ModuleSpecifier:
        """Register source text under ``zako-memory:<name>`` (replacing any
        earlier text of that name) and return its specifier."""
        spec = ModuleSpecifier.parse(name if ":" in name else "zako-memory:" + name)
        if spec.module_type is not ModuleType.MEMORY:
            raise ModuleLoadError(f"{name!r} is not a memory module name", specifier=name)
        if not isinstance(source, str):
            raise TypeError(f"source of {spec.url} must be str, got {type(source).__name__}")
        with self._lock:
            self._memory[spec.url] = (source, typescript)
        return spec

    # --- resolution ------------------------------------------------------------

    def display_name(self, spec: ModuleSpecifier) -> str:
        """Root-relative POSIX path for a resolved file, the url otherwise."""
        if spec.module_type is ModuleType.FILE and spec.url.startswith("file://"):
            name = self._names.get(spec.url)
            if name is None:
                path = self._url_path(spec.url)
                if path.startswith(self._root_prefix) and "//" not in path and "/./" not in path and not path.endswith(("/", "/.")):
                    name = path[len(self._root_prefix):]  # what relative_to gives, without Paths
                else:
                    try:
                        name = Path(path).relative_to(self.root).as_posix()
                    except ValueError:
                        name = path
                if len(self._names) < 65536:  # a url always names the same path: safe to keep
                    self._names[spec.url] = name
            return name
        return spec.url

    def resolve(
        self,
        specifier: str | ModuleSpecifier,
        importer: ModuleSpecifier | str | None = None,
        *,
        context_type: ContextType | None = None,
    ) -> ModuleSpecifier:
        """Resolve ``specifier`` as imported by ``importer`` (``None``: the
        entry point; text is first resolved as an entry) whose context type
        is ``context_type`` (``None``: builtin permissions are not checked).

        Returns a canonical specifier: a ``file://`` URL of an existing file
        under the root, a known ``zako:`` builtin, or a registered
        ``zako-memory:`` module. Raises ``ModuleLoadError`` naming importer,
        specifier and the rule. Cost: a few ``stat`` calls for files."""
        if isinstance(importer, (str, os.PathLike)):
            importer = self.resolve(os.fspath(importer))  # a path or specifier text, resolved as an entry
        who = self.display_name(importer) if importer is not None else "<entry>"
        return self._resolve(specifier, importer, context_type, who, who)

    def _resolve(
        self,
        specifier: str | ModuleSpecifier,
        importer: ModuleSpecifier | None,
        context_type: ContextType | None,
        who: str,
        where: str,
        probes: dict[str, str] | None = None,
    ) -> ModuleSpecifier:
        if not self._snapshot:
            return self._resolve_now(specifier, importer, context_type, who, where, probes)
        # In a snapshot the same request from the same importer always lands
        # on the same file after the same probes: replay them.
        key = (specifier if isinstance(specifier, str) else specifier.url,
               importer.url if importer is not None else None, context_type)
        hit = self._resolved.get(key)
        if hit is None:
            seen: dict[str, str] = {}
            spec = self._resolve_now(specifier, importer, context_type, who, where, seen)
            hit = self._resolved[key] = (spec, tuple(seen.items()))
        spec, seen_probes = hit
        if probes is not None:
            for rel, what in seen_probes:
                if probes.setdefault(rel, what) != what:
                    probes[rel] = _CONFLICT
        return spec

    def _resolve_now(
        self,
        specifier: str | ModuleSpecifier,
        importer: ModuleSpecifier | None,
        context_type: ContextType | None,
        who: str,
        where: str,
        probes: dict[str, str] | None = None,
    ) -> ModuleSpecifier:
        # ``who`` names the importer (the error's .importer); ``where`` is the
        # text the message shows, "file:line" when the import's line is known.
        text = specifier if isinstance(specifier, str) else specifier.url
        try:
            spec = specifier if isinstance(specifier, ModuleSpecifier) else ModuleSpecifier.parse(specifier)
        except ModuleLoadError as exc:
            raise ModuleLoadError(f"cannot import from {where}: {exc}", importer=who, specifier=text) from None

        def refuse(rule: str) -> ModuleLoadError:
            return ModuleLoadError(f"cannot import {text!r} from {where}: {rule}", importer=who, specifier=text)

        importer_type = importer.module_type if importer is not None else None
        if importer_type in (ModuleType.BUILTIN, ModuleType.MEMORY) and spec.module_type is not ModuleType.BUILTIN:
            kind = "builtin" if importer_type is ModuleType.BUILTIN else "memory"
            raise refuse(f"a {kind} module may import only zako: builtins")
        if spec.module_type is ModuleType.MEMORY:
            if importer is not None:
                raise refuse("memory modules can only be entry points; a file module may import files and builtins")
            if spec.url not in self._memory:
                raise refuse(f"no memory module named {spec.url!r} is registered with this loader")
            return spec

        path_text = text
        if spec.module_type is ModuleType.IMPORT_MAP:
            target = self._map(text)
            if target is None:
                raise refuse(f"no import-map entry for {text!r} (import map keys: {sorted(self.import_map) or 'none'})")
            spec = ModuleSpecifier.parse(target)
            path_text = target
            if spec.module_type is ModuleType.FILE and not target.startswith("file:") and not os.path.isabs(target):
                # map targets are root-relative, whoever imports them
                path = self._check_inside(os.path.normpath(self.root / target), refuse)
                return self._find_file(path, refuse, probes)

        if spec.module_type is ModuleType.BUILTIN:
            name = spec.name
            if name not in BUILTIN_NAMES:
                raise refuse(f"there is no builtin module zako:{name} (builtins: {', '.join('zako:' + n for n in BUILTIN_NAMES)})")
            if context_type is not None and name not in context_type.allowed_builtins:
                allowing = [c for c in ContextType.allowing(name) if c is not ContextType.LIBRARY]
                allowed_in = ", ".join(f"{c.value} ({' / '.join(c.file_patterns)})" for c in allowing)
                common = "(and zako:semver, zako:console, zako:context)"
                if context_type is ContextType.LIBRARY:
                    rule = f"a library module may import only zako:core and other libraries {common}"
                else:
                    rule = f"a {context_type.value} module may import only zako:core and " + ", ".join(
                        "zako:" + n for n in sorted(context_type.allowed_builtins - COMMON_BUILTINS)
                    ) + " " + common
                raise refuse(f"{rule}; zako:{name} is available to {allowed_in} contexts")
            return spec

        # FILE
        if spec.url.startswith("file:"):
            path = os.path.normpath(self._url_path(spec.url))
        elif path_text.startswith(("./", "../")) or path_text in (".", ".."):
            base = str(self.root)
            if importer is not None and importer.module_type is ModuleType.FILE:
                base = os.path.dirname(self._url_path(importer.url)) or base
            path = os.path.normpath(os.path.join(base, path_text))
        elif os.path.isabs(path_text):
            path = os.path.normpath(path_text)
        else:
            path = os.path.normpath(os.path.join(str(self.root), path_text))
        path = self._check_inside(path, refuse)
        return self._find_file(path, refuse, probes)

    def _map(self, text: str) -> str | None:
        target = self.import_map.get(text)
        if target is not None:
            return target
        best = ""
        for key in self.import_map:
            if key.endswith("/") and text.startswith(key) and len(key) > len(best):
                best = key
        return self.import_map[best] + text[len(best) :] if best else None

    @staticmethod
    def _url_path(url: str) -> str:
        if url.startswith("file:///") and not any(c in url for c in ";?#"):
            return unquote(url[7:])  # what urlparse gives, for the URLs _file_spec makes
        parsed = urlparse(url)
        return unquote(parsed.path)

    def _inside(self, path: str) -> bool:
        root = str(self.root)
        return path == root or path.startswith(root.rstrip(os.sep) + os.sep)

    def _check_inside(self, path: str, refuse) -> str:
        if not self._inside(path):
            raise refuse(f"it resolves to {path!r}, outside the project root {str(self.root)!r}; modules must stay inside the root")
        return path

    def _find_file(self, path: str, refuse, probes: dict[str, str] | None = None) -> ModuleSpecifier:
        candidates = [path]
        if not path.endswith(_EXTENSION_ORDER + (".json",)):
            candidates += [path + ext for ext in _EXTENSION_ORDER]
        if path.endswith(".js"):
            candidates.append(path[:-3] + ".ts")
        candidates += [os.path.join(path, index) for index in _INDEX_FILES]
        root = str(self.root)
        observed = self._observed if self._snapshot else None
        dirs = self._dirs if self._snapshot else None
        for candidate in candidates:
            hit = observed.get(candidate) if observed is not None else None
            if hit is None:
                hit = _observe(candidate, root, dirs)
                if observed is not None:
                    observed[candidate] = hit
            seen, real = hit
            if probes is not None:
                rel = _rel(candidate, root)
                if probes.setdefault(rel, seen) != seen:
                    probes[rel] = _CONFLICT
            if real is not None:
                if not self._inside(real):
                    raise refuse(f"{candidate!r} is a link to {real!r}, outside the project root {str(self.root)!r}")
                return self._file_spec(real)
        tried = ", ".join(self.display_name(ModuleSpecifier(Path(c).as_uri(), ModuleType.FILE)) for c in candidates)
        raise refuse(f"module not found (tried {tried})")

    def _file_spec(self, real: str) -> ModuleSpecifier:
        # Path.as_uri, without building a Path each time a build file is
        # resolved (the same file comes back for every importer).
        spec = self._uris.get(real)
        if spec is None:
            spec = ModuleSpecifier("file://" + quote_from_bytes(os.fsencode(real)), ModuleType.FILE)
            if len(self._uris) < 65536:
                self._uris[real] = spec
        return spec

    # --- graph -----------------------------------------------------------------

    def load_graph(self, entry: str | os.PathLike[str] | ModuleSpecifier, *, context_type: ContextType) -> ModuleGraph:
        """Resolve, read and transform ``entry`` and everything it imports.

        The entry runs as ``context_type``; imported files are libraries.
        Raises ``ModuleLoadError`` (a refusal, a missing file, unreadable or
        invalid JSON) or ``TranspileError``. Cost: one file read per module
        and one parse per module whose text is not in the transform cache.
        """
        context_type = ContextType.coerce(context_type)
        if isinstance(entry, os.PathLike):
            entry = os.fspath(entry)
        # Every stat the resolution makes lands here, in first-look order.
        probes: dict[str, str] = {}
        spec = self._resolve(entry, None, None, "<entry>", "<entry>", probes)
        modules: list[LoadedModule] = []
        by_key: dict[tuple[str, str], int] = {}

        def add(spec: ModuleSpecifier, kind: str, ctx: ContextType | None) -> int:
            key = (spec.url, kind)
            idx = by_key.get(key)
            if idx is not None:
                return idx
            module = self._read(spec, kind, ctx, len(modules), memo=bool(modules))
            by_key[key] = module.index
            modules.append(module)
            return module.index

        entry_kind = "json" if spec.url.endswith(".json") else "js"
        add(spec, entry_kind, None if spec.module_type is ModuleType.BUILTIN else context_type)
        processed: set[int] = set()

        def expand(start: int) -> None:
            # Breadth first from modules[start]. What an import() asks for
            # is loaded as a unit, its static imports included: if any of it
            # cannot load, it is taken back out and that import() rejects
            # (the rest of the graph still runs).
            i = start
            while i < len(modules):
                module = modules[i]
                i += 1
                if module.transform is None or module.index in processed:
                    continue
                processed.add(module.index)
                for request in module.transform.requests:
                    if not request.dynamic:
                        module.deps.append(self._load_request(module, request, probes, add))
                        continue
                    mark, keys = len(modules), dict(by_key)
                    try:
                        dep = self._load_request(module, request, probes, add)
                        expand(mark)
                    except (ModuleLoadError, TranspileError) as exc:
                        del modules[mark:]
                        by_key.clear()
                        by_key.update(keys)
                        processed.difference_update([x for x in processed if x >= mark])
                        name = "SyntaxError" if isinstance(exc, TranspileError) else "TypeError"
                        failed = LoadedModule(len(modules), module.specifier, f"{module.name}:{request.line}",
                                              "error", None, "", error=(name, str(exc)))
                        modules.append(failed)
                        dep = failed.index
                    module.deps.append(dep)

        expand(0)
        return ModuleGraph(modules, 0, list(probes.items()))

    def _load_request(self, module: LoadedModule, request: Any, probes: dict[str, str], add: Any) -> int:
        who = module.name
        target = self._resolve(
            request.specifier, module.specifier, module.context_type, who, f"{who}:{request.line}", probes
        )
        is_json_file = target.url.endswith(".json")
        if request.is_json and not is_json_file:
            raise ModuleLoadError(
                f"cannot import {request.specifier!r} from {who}:{request.line}: "
                f'`with {{ type: "json" }}` needs a .json file, got {self.display_name(target)}',
                importer=who,
                specifier=request.specifier,
            )
        if is_json_file and not request.is_json:
            raise ModuleLoadError(
                f"cannot import {request.specifier!r} from {who}:{request.line}: "
                f'a JSON module must be imported with `with {{ type: "json" }}`',
                importer=who,
                specifier=request.specifier,
            )
        ctx: ContextType | None = None
        if target.module_type is ModuleType.FILE and not is_json_file:
            name = self.display_name(target)
            own = ContextType.for_filename(name)
            if own is not ContextType.LIBRARY:
                raise ModuleLoadError(
                    f"cannot import {request.specifier!r} from {who}:{request.line}: {name} is a {own.value} "
                    f"file ({' / '.join(own.file_patterns)}) and runs as its own context; "
                    "only library modules and JSON can be imported",
                    importer=who,
                    specifier=request.specifier,
                )
            ctx = ContextType.LIBRARY
        return add(target, "json" if request.is_json else "js", ctx)

    def _read(self, spec: ModuleSpecifier, kind: str, ctx: ContextType | None, index: int,
              memo: bool = True) -> LoadedModule:
        # Entry modules (build files) are read once per load anyway: keeping
        # them would hold every build file's text and transform for the load.
        if self._snapshot and memo:
            key = (spec.url, kind, ctx)
            first = self._reads.get(key)
            if first is None:
                first = self._reads[key] = self._read_now(spec, kind, ctx, 0)
            return LoadedModule(index, first.specifier, first.name, first.kind, first.context_type, first.source,
                                first.transform, first.json_value)
        return self._read_now(spec, kind, ctx, index, cached=not self._snapshot)

    def _read_now(self, spec: ModuleSpecifier, kind: str, ctx: ContextType | None, index: int,
                  cached: bool = True) -> LoadedModule:
        if spec.module_type is ModuleType.BUILTIN:
            name = spec.url
            source = _builtin_source(spec.name)
            typescript = False
        elif spec.module_type is ModuleType.MEMORY:
            name = spec.url
            source, typescript = self._memory[spec.url]
        else:
            name = self.display_name(spec)
            path = self._url_path(spec.url)
            try:
                with open(path, "rb") as f:
                    data = f.read()
                source = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ModuleLoadError(f"{name} is not valid UTF-8: {exc}", specifier=name) from None
            except OSError as exc:
                raise ModuleLoadError(f"cannot read {name}: {exc.strerror or exc}", specifier=name) from None
            typescript = is_typescript_filename(path)
        module = LoadedModule(index, spec, name, kind, ctx, source)
        if kind == "json":
            try:
                module.json_value = json.loads(source)
            except ValueError as exc:
                raise ModuleLoadError(f"{name} is not valid JSON: {exc}", specifier=name) from None
        else:
            if cached:
                module.transform = cached_transform(source, filename=name, typescript=typescript,
                                                    cache=self.transform_cache)
            else:
                # An entry of a snapshot load is read once in it: hashing its
                # text for a cache key and keeping the result would cost ~15% of
                # its transform and hold memory for nothing.
                module.transform = transform(source, filename=name, typescript=typescript)
        return module
