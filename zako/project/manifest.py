"""The project manifest: ``zako.toml`` or ``zako.json`` at the project root.

Fields (all at the top level; ``docs/build-files.md`` has the table):

- ``group``, ``artifact``, ``version`` (required strings; ``version`` is a
  semantic version -- ``1.2.3-rc.1+b5`` -- or, as a zako extension, a short
  numeric ``1`` / ``1.2``);
- ``description``, ``license`` (an SPDX license expression, its syntax
  checked), ``authors`` (``"Name <user@host>"`` strings);
- ``builds``, ``rules``, ``toolchains``, ``peers``: patterns -- a list of
  globs, or ``{include, exclude}``;
- ``dependencies``: name -> ``{package}`` | ``{repo, checkout?}`` |
  ``{url}`` | ``{path}``; ``config``: name -> ``{type, default}`` with
  ``type`` one of ``label``, ``boolean``, ``number``, ``string``;
- ``mount_config``, ``configure_script`` (strings); ``options`` (a
  table/object, zako's own).

An unknown key is a warning naming the key and the file (the original Zako
ignores them); a missing required field whose name is close to an unknown
key names that key and its line, so ``versoin = "1"`` still points at
itself. Every error names ``file:line`` and the field. Having both files is
an error: which one wins would be a guess.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from .errors import ManifestError, Problem

__all__ = [
    "Manifest",
    "MANIFEST_NAMES",
    "CONFIG_TYPES",
    "find_manifest",
    "read_manifest",
    "check_spdx_expression",
    "check_author",
    "is_loose_ident",
    "check_config_value",
    "parse_config_text",
]

_log = logging.getLogger(__name__)

MANIFEST_NAMES = ("zako.toml", "zako.json")
_REQUIRED = ("group", "artifact", "version")
_STRINGS = ("description", "license", "mount_config", "configure_script")
_PATTERNS = ("builds", "rules", "toolchains", "peers")
_OPTIONAL = ("description", "license", "authors", *_PATTERNS, "dependencies", "mount_config",
             "configure_script", "config", "options")
KNOWN_FIELDS = _REQUIRED + _OPTIONAL
CONFIG_TYPES = ("label", "boolean", "number", "string")

# Semantic Versioning 2.0.0: no leading zeros in numeric identifiers.
_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(
    rf"{_NUM}\.{_NUM}\.{_NUM}(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_SHORT_VERSION = re.compile(rf"{_NUM}(?:\.{_NUM})?")


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest; ``raw`` is the file's bytes (they feed cache
    keys). Patterns are ``{"include": [...], "exclude": [...]}`` or None;
    ``config`` maps each name to ``{"type", "default"}``; ``warnings`` are
    the one-line texts already logged (unknown keys)."""

    file: str  # file name relative to the root: "zako.toml" or "zako.json"
    group: str
    artifact: str
    version: str
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    raw: bytes = b""
    license: str | None = None
    authors: tuple[str, ...] = ()
    builds: dict[str, list[str]] | None = None
    rules: dict[str, list[str]] | None = None
    toolchains: dict[str, list[str]] | None = None
    peers: dict[str, list[str]] | None = None
    dependencies: dict[str, dict[str, str]] = field(default_factory=dict)
    mount_config: str | None = None
    configure_script: str | None = None
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def config_values(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Each config name's value: its default, or the override (already
        typed, see ``parse_config_text``). An override naming no declared
        config raises ``ManifestError``."""
        values = {name: spec["default"] for name, spec in sorted(self.config.items())}
        for name, value in (overrides or {}).items():
            if name not in self.config:
                known = ", ".join(sorted(self.config)) or "none declared"
                raise ManifestError(Problem("manifest", self.file, None,
                                            f"--config {name}: no config named {name!r} in {self.file} (config: {known})"))
            values[name] = value
        return values

    def project_fields(self, config_overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """What ``zako:package`` exposes before the package script runs (and
        what every build, rule and toolchain script then sees)."""
        return {
            "group": self.group,
            "artifact": self.artifact,
            "version": self.version,
            "description": self.description,
            "options": dict(self.options),
            "license": self.license,
            "authors": list(self.authors),
            "builds": self.builds,
            "rules": self.rules,
            "toolchains": self.toolchains,
            "config": self.config_values(config_overrides),
        }


def find_manifest(root: str) -> str:
    """The manifest's file name under ``root``; ``ManifestError`` if none or both."""
    present = [n for n in MANIFEST_NAMES if os.path.isfile(os.path.join(root, n))]
    if not present:
        raise ManifestError(
            Problem("manifest", ".", None, f"no zako.toml or zako.json in project root {root!r}")
        )
    if len(present) > 1:
        raise ManifestError(
            Problem("manifest", present[1], None, "both zako.toml and zako.json exist: keep one")
        )
    return present[0]


def _line_of_key(text: str, key: str, after: int = 0) -> int | None:
    pattern = re.compile(r'^\s*"?' + re.escape(key) + r'"?\s*[=:]', re.MULTILINE)
    m = pattern.search(text, after)
    if m is None:
        m = re.compile(r'"' + re.escape(key) + r'"\s*:').search(text, after)
    if m is None:
        m = re.compile(r'^\s*\[\s*"?' + re.escape(key) + r'"?\s*\]', re.MULTILINE).search(text, after)
    return text.count("\n", 0, m.start()) + 1 if m else None


# --- field checks (each returns an error text, or None) ------------------------------


def check_version(text: object) -> str | None:
    if not isinstance(text, str):
        return f"must be a version string, got {text!r}"
    if _SEMVER.fullmatch(text) or _SHORT_VERSION.fullmatch(text):
        return None
    return f"{text!r} is not a semantic version (MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], e.g. 1.2.3)"


_SPDX_TOKEN = re.compile(r"\s*(\(|\)|\+|[A-Za-z0-9.\-:]+)")
_SPDX_ID = re.compile(r"(?:DocumentRef-[A-Za-z0-9.\-]+:)?(?:LicenseRef-)?[A-Za-z0-9.\-]+")
_OPERATORS = {"AND", "OR", "WITH", "and", "or", "with"}


def check_spdx_expression(text: object) -> str | None:
    """The SPDX license-expression syntax (SPDX 2.3 annex D): license ids
    (``MIT``, ``Apache-2.0+``, ``LicenseRef-x``), ``AND`` / ``OR`` /
    ``WITH exception``, parentheses. Ids are not checked against the SPDX
    list (new ones appear; the original does not check them either)."""
    if not isinstance(text, str):
        return f"must be an SPDX license expression string, got {text!r}"
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        m = _SPDX_TOKEN.match(text, pos)
        if m is None:
            if text[pos:].strip() == "":
                break
            return f"{text!r} is not an SPDX license expression: unexpected {text[pos:].strip()[:1]!r}"
        tokens.append(m.group(1))
        pos = m.end()
    i = 0

    def fail(what: str) -> str:
        at = f"at {tokens[i]!r}" if i < len(tokens) else "at the end"
        return f"{text!r} is not an SPDX license expression: expected {what} {at}"

    def license_id() -> str | None:
        nonlocal i
        if i >= len(tokens) or tokens[i] in _OPERATORS or tokens[i] in "()+" or not _SPDX_ID.fullmatch(tokens[i]):
            return fail("a license id")
        i += 1
        if i < len(tokens) and tokens[i] == "+":
            i += 1
        return None

    def simple() -> str | None:
        nonlocal i
        if i < len(tokens) and tokens[i] == "(":
            i += 1
            err = compound()
            if err:
                return err
            if i >= len(tokens) or tokens[i] != ")":
                return fail("')'")
            i += 1
            return None
        err = license_id()
        if err:
            return err
        if i < len(tokens) and tokens[i] in ("WITH", "with"):
            i += 1
            if i >= len(tokens) or tokens[i] in _OPERATORS or not _SPDX_ID.fullmatch(tokens[i]):
                return fail("an exception id after WITH")
            i += 1
        return None

    def compound() -> str | None:
        nonlocal i
        err = simple()
        while err is None and i < len(tokens) and tokens[i] in ("AND", "OR", "and", "or"):
            i += 1
            err = simple()
        return err

    if not tokens:
        return "must not be empty (an SPDX license expression such as MIT or Apache-2.0 OR MIT)"
    err = compound()
    if err is None and i < len(tokens):
        err = fail("AND, OR or the end")
    return err


_AUTHOR = re.compile(r"([^<>]*\S)\s+<([^<>\s@]+)@([^<>\s@]+)>")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?")


def check_author(text: object) -> str | None:
    """``"Name <user@host>"``: a name without ``<``/``>``, one space or
    more, then an address in angle brackets."""
    if not isinstance(text, str):
        return f"an author must be a string \"Name <user@host>\", got {text!r}"
    m = _AUTHOR.fullmatch(text.strip())
    if m is None or not _DOMAIN.fullmatch(m.group(3)) or m.group(2).startswith(".") or m.group(2).endswith("."):
        return f"author {text!r} is not of the form \"Name <user@host>\""
    return None


def is_loose_ident(name: object) -> bool:
    """A Unicode identifier that may also use ``-`` anywhere (XID_Start or
    ``_``/``-`` first, XID_Continue or ``-`` after), as the original."""
    if not isinstance(name, str) or not name:
        return False
    first = name[0]
    if first not in "_-" and not first.isidentifier():
        return False
    return all(c == "-" or ("a" + c).isidentifier() for c in name[1:])


def _pattern_list(value: object) -> list[str] | str:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        return f"must be a list of glob strings, got {value!r}"
    for s in value:
        if not s:
            return "has an empty pattern"
        if s.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", s):
            return f"pattern {s!r} is absolute: patterns are relative to the project root"
        if ".." in s.replace("\\", "/").split("/"):
            return f"pattern {s!r} leaves the project ('..')"
    return list(value)


def check_pattern(value: object) -> dict[str, list[str]] | str:
    """A ``Pattern``: a list of globs, or ``{include?, exclude?}``; returns
    ``{"include", "exclude"}`` or an error text."""
    if isinstance(value, list):
        inc = _pattern_list(value)
        return inc if isinstance(inc, str) else {"include": inc, "exclude": []}
    if isinstance(value, dict):
        extra = sorted(set(value) - {"include", "exclude"})
        if extra:
            return f"has unknown key {extra[0]!r} (a pattern is a list, or {{include, exclude}})"
        out: dict[str, list[str]] = {}
        for key in ("include", "exclude"):
            got = _pattern_list(value.get(key, []))
            if isinstance(got, str):
                return f"{key} {got}"
            out[key] = got
        return out
    return f"must be a list of globs or {{include, exclude}}, got {value!r}"


_SOURCE_FORMS = ({"package"}, {"repo"}, {"repo", "checkout"}, {"url"}, {"path"})


def check_dependency(name: str, value: object) -> str | None:
    if not is_loose_ident(name):
        return f"dependency name {name!r} is not an identifier (letters, digits, '_' and '-')"
    if not isinstance(value, dict) or set(value) not in _SOURCE_FORMS:
        return (f"dependency {name!r} must be one of {{package}}, {{repo, checkout}}, {{url}} or {{path}}, "
                f"got {value!r}")
    for key, text in value.items():
        if not isinstance(text, str) or not text:
            return f"dependency {name!r}: {key} must be a non-empty string, got {text!r}"
    path = value.get("path")
    if path is not None and (path.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", path)):
        return f"dependency {name!r}: path {path!r} is absolute: write it relative to the project root"
    return None


def check_config_value(name: str, type_: str, value: object) -> str | None:
    """None when ``value`` is a valid ``type_`` config value, else why not."""
    if type_ == "boolean":
        ok = isinstance(value, bool)
    elif type_ == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif type_ in ("string", "label"):
        ok = isinstance(value, str)
    else:
        return f"config {name!r}: unknown type {type_!r} (one of {', '.join(CONFIG_TYPES)})"
    if not ok:
        return f"config {name!r} is a {type_}, got {value!r}"
    if type_ == "label":
        from .labels import LabelError, check_label_syntax

        try:
            check_label_syntax(value)  # type: ignore[arg-type]
        except LabelError as e:
            return f"config {name!r} is a label: {e}"
    return None


def parse_config_text(manifest: Manifest, name: str, text: str) -> Any:
    """The typed value of ``--config name=text`` for ``manifest``'s config
    ``name``: ``true``/``false`` for booleans, a number for numbers, the text
    itself otherwise. Raises ``ManifestError`` naming the name, the type and
    the text."""
    spec = manifest.config.get(name)
    if spec is None:
        known = ", ".join(sorted(manifest.config)) or "none declared"
        raise ManifestError(Problem("manifest", manifest.file, None,
                                    f"--config {name}={text}: no config named {name!r} in {manifest.file} (config: {known})"))
    type_ = spec["type"]
    value: Any = text
    if type_ == "boolean":
        value = {"true": True, "false": False}.get(text, text)
    elif type_ == "number":
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                pass
    err = check_config_value(name, type_, value)
    if err is not None or (type_ == "number" and isinstance(value, str)):
        raise ManifestError(Problem("manifest", manifest.file, None,
                                    f"--config {name}={text}: {name!r} is a {type_} config; {text!r} is not a {type_}"))
    return value


# --- reading ---------------------------------------------------------------------------


def read_manifest(root: str) -> Manifest:
    """Find, parse and validate the manifest of the project at ``root``.

    Raises ``ManifestError`` whose ``problem`` names the file and line.
    Unknown keys are logged as warnings (logger ``zako.project.manifest``).
    """
    name = find_manifest(root)
    path = os.path.join(root, name)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ManifestError(Problem("manifest", name, None, f"not UTF-8: {e}")) from None
    try:
        if name.endswith(".toml"):
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise ManifestError(Problem("manifest", name, int(m.group(1)) if m else None, f"invalid TOML: {e}")) from None
    except json.JSONDecodeError as e:
        raise ManifestError(Problem("manifest", name, e.lineno, f"invalid JSON: {e.msg}")) from None
    if not isinstance(data, dict):
        raise ManifestError(Problem("manifest", name, 1, "the manifest must be a table/object of fields"))

    def fail(key: str, message: str, inner: str | None = None) -> ManifestError:
        line = _line_of_key(text, key)
        if inner is not None and line is not None:
            # the inner key's own line, searched from the field's line on
            offset = len("\n".join(text.split("\n")[: line - 1]))
            line = _line_of_key(text, inner, offset) or line
        return ManifestError(Problem("manifest", name, line, f"field {key!r}: {message}"))

    unknown = [key for key in data if key not in KNOWN_FIELDS]
    for key in _REQUIRED:
        if key not in data:
            close = difflib.get_close_matches(key, unknown, n=1, cutoff=0.7)
            if close:
                raise ManifestError(Problem("manifest", name, _line_of_key(text, close[0]),
                                            f"missing required field {key!r}: unknown field {close[0]!r} is a misspelling?"))
            raise ManifestError(Problem("manifest", name, None, f"missing required field {key!r}"))
    warnings = []
    for key in unknown:
        line = _line_of_key(text, key)
        where = f"{name}:{line}" if line else name
        warnings.append(f"{where}: unknown manifest field {key!r} is ignored (known: {', '.join(KNOWN_FIELDS)})")
        _log.warning("%s", warnings[-1])
    for key in (*_REQUIRED, *_STRINGS):
        if key in data and not isinstance(data[key], str):
            raise fail(key, f"must be a string, got {data[key]!r}")
    for key in _REQUIRED:
        if not data[key].strip():
            raise fail(key, "must not be empty")
    err = check_version(data["version"])
    if err:
        raise fail("version", err)
    if "license" in data:
        err = check_spdx_expression(data["license"])
        if err:
            raise fail("license", err)
    authors = data.get("authors", [])
    if not isinstance(authors, list):
        raise fail("authors", f"must be a list of \"Name <user@host>\" strings, got {authors!r}")
    for a in authors:
        err = check_author(a)
        if err:
            raise fail("authors", err)
    patterns: dict[str, dict[str, list[str]] | None] = {}
    for key in _PATTERNS:
        if key in data:
            got = check_pattern(data[key])
            if isinstance(got, str):
                raise fail(key, got)
            patterns[key] = got
    deps = data.get("dependencies", {})
    if not isinstance(deps, dict):
        raise fail("dependencies", f"must be a table/object of name -> source, got {deps!r}")
    for dep, source in deps.items():
        err = check_dependency(dep, source)
        if err:
            raise fail("dependencies", err, inner=dep)
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise fail("config", f"must be a table/object of name -> {{type, default}}, got {config!r}")
    for cname, spec in config.items():
        if not is_loose_ident(cname):
            raise fail("config", f"config name {cname!r} is not an identifier (letters, digits, '_' and '-')", inner=cname)
        if not isinstance(spec, dict) or set(spec) - {"type", "default", "description"} or "type" not in spec:
            raise fail("config", f"config {cname!r} must be {{type, default}}, got {spec!r}", inner=cname)
        if "default" not in spec:
            raise fail("config", f"config {cname!r} has no default", inner=cname)
        err = check_config_value(cname, spec["type"], spec["default"])
        if err:
            raise fail("config", err, inner=cname)
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise fail("options", f"must be a table/object, got {options!r}")
    return Manifest(
        file=name,
        group=data["group"],
        artifact=data["artifact"],
        version=data["version"],
        description=data.get("description", ""),
        options=options,
        raw=raw,
        license=data.get("license"),
        authors=tuple(authors),
        builds=patterns.get("builds"),
        rules=patterns.get("rules"),
        toolchains=patterns.get("toolchains"),
        peers=patterns.get("peers"),
        dependencies={k: dict(v) for k, v in deps.items()},
        mount_config=data.get("mount_config"),
        configure_script=data.get("configure_script"),
        config={k: {"type": v["type"], "default": v["default"]} for k, v in config.items()},
        warnings=tuple(warnings),
    )
