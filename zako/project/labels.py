"""Target labels: ``//pkg/path:name`` (``//:name`` for the root package),
and ``@dep//pkg/path:name`` for a target of the declared dependency ``dep``
(a ``{path}`` entry of the manifest's ``dependencies``).

A label names one target of one package. Packages are named by their
root-relative neutral path (``"."`` for the root); a label spells the root
as nothing (``//:name``). Inside a build file a dependency may be written
``:name``, meaning the same package; ``//pkg`` alone is short for
``//pkg:<last component of pkg>`` as in Bazel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..exceptions import ZakoError

__all__ = ["Label", "LabelError", "TARGET_NAME_RE", "check_target_name", "check_label_syntax", "label_text",
           "target_label_text", "split_repo"]

# Same alphabet as the ``zako:build`` builtin accepts for target names, so a
# name that was declared can always be referred to.
TARGET_NAME_RE = re.compile(r"[A-Za-z0-9_.+\-]+")
# Package components: what a neutral path allows, minus the wildcard and
# label punctuation that would make the label ambiguous.
_PACKAGE_PART_RE = re.compile(r"[^/\\:<>\"|?*'`$\x00-\x1f]+")


class LabelError(ZakoError, ValueError):
    """A label (or target name) is malformed. The message names the text."""


def check_target_name(name: object, *, where: str = "") -> str:
    """Return ``name`` if it is a valid target name, else raise ``LabelError``."""
    if not isinstance(name, str) or not TARGET_NAME_RE.fullmatch(name) or name in (".", ".."):
        suffix = f" in {where}" if where else ""
        raise LabelError(
            f"invalid target name {name!r}{suffix}: use letters, digits and _ - . + "
            "(not '.' or '..')"
        )
    return name


def _check_package(package: str, text: str) -> str:
    if package in ("", "."):
        return "."
    parts = package.split("/")
    for part in parts:
        if part in ("", ".", "..") or not _PACKAGE_PART_RE.fullmatch(part) or part.endswith((" ", ".")):
            raise LabelError(
                f"invalid package {package!r} in label {text!r}: a package is a normalized "
                "path below the project root (no '.', '..', empty or absolute parts)"
            )
    return package


def split_repo(text: str) -> tuple[str, str]:
    """``("dep", "//pkg:name")`` for ``"@dep//pkg:name"``, ``("", text)``
    for any other text. Raises ``LabelError`` for ``@`` without a valid
    dependency name or without ``//``."""
    if not text.startswith("@"):
        return "", text
    repo, sep, rest = text[1:].partition("//")
    if not sep:
        raise LabelError(f"invalid label {text!r}: write '@dep//pkg/path:name' for a target of dependency 'dep'")
    _check_repo(repo, text)
    return repo, "//" + rest


def _check_repo(repo: str, text: str) -> str:
    from .manifest import is_loose_ident

    if not is_loose_ident(repo):
        raise LabelError(f"invalid dependency name {repo!r} in label {text!r}: use letters, digits, '_' and '-'")
    return repo


@dataclass(frozen=True, slots=True)
class Label:
    """One target: ``package`` is the neutral path text (``"."`` = root);
    ``repo`` is the dependency it belongs to (``""``: this project)."""

    package: str
    name: str
    repo: str = ""

    def __post_init__(self) -> None:
        at = f"@{self.repo}" if self.repo else ""
        if self.repo:
            _check_repo(self.repo, f"{at}//{self.package}:{self.name}")
        _check_package(self.package, f"{at}//{self.package}:{self.name}")
        check_target_name(self.name, where=f"label {at}//{self.package}:{self.name}")

    @classmethod
    def parse(cls, text: object, package: str | None = None) -> "Label":
        """Parse ``//pkg:name``, ``//:name``, ``//pkg`` or (given ``package``)
        ``:name``. Raises ``LabelError`` naming the text; ``:name`` without a
        current package is an error."""
        if not isinstance(text, str):
            raise LabelError(f"a label must be a string, got {text!r}")
        if text.startswith("@"):
            repo, rest = split_repo(text)
            inner = cls.parse(rest)
            return cls(inner.package, inner.name, repo)
        if text.startswith("//"):
            body = text[2:]
            pkg, sep, name = body.partition(":")
            if not sep:
                if not pkg:
                    raise LabelError(f"invalid label {text!r}: the root package needs a name (//:name)")
                name = pkg.rsplit("/", 1)[-1]
            elif ":" in name:
                raise LabelError(f"invalid label {text!r}: more than one ':'")
            pkg = _check_package(pkg, text)
            if not TARGET_NAME_RE.fullmatch(name) or name in (".", ".."):
                raise LabelError(
                    f"invalid target name {name!r} in label {text!r}: use letters, digits and _ - . +"
                )
            return cls(pkg, name)
        if text.startswith(":"):
            if package is None:
                raise LabelError(f"relative label {text!r} needs a current package")
            name = text[1:]
            if not TARGET_NAME_RE.fullmatch(name) or name in (".", ".."):
                raise LabelError(f"invalid target name {name!r} in label {text!r}: use letters, digits and _ - . +")
            return cls(_check_package(package, text), name)
        raise LabelError(
            f"invalid label {text!r}: write '//pkg/path:name' (or '//:name' at the root), "
            "or ':name' for a target of the same package, or '@dep//pkg/path:name' for a dependency's"
        )

    def __str__(self) -> str:
        pkg = "" if self.package == "." else self.package
        return f"@{self.repo}//{pkg}:{self.name}" if self.repo else f"//{pkg}:{self.name}"

    def __repr__(self) -> str:
        return f"Label({str(self)!r})"


def check_label_syntax(text: object) -> str:
    """``text`` if it is a full label (``//pkg:name``, ``//pkg`` or
    ``@dep//pkg:name``), else ``LabelError``: what a ``label`` config value
    must be."""
    str(Label.parse(text))
    return text  # type: ignore[return-value]


# --- fast paths for a large tree -------------------------------------------------
# A load parses every dep of every target; the same absolute labels recur
# across packages, and a package's relative ``:name`` deps share its prefix.
# These give exactly ``str(Label.parse(...))`` / ``str(Label(...))`` and
# leave every refusal to those (so the messages stay theirs).


@lru_cache(maxsize=1 << 16)
def _absolute_text(text: str) -> str:
    # Most labels in a tree are distinct ("//pkg:name" of every package):
    # the common form is checked here through the memoized package prefix.
    pkg, sep, name = text[2:].partition(":")
    if sep and _good_name(name):
        prefix = _prefix(pkg)
        if prefix is not None:
            return prefix + name
    return str(Label.parse(text))


@lru_cache(maxsize=1 << 16)
def _prefix(package: str) -> str | None:
    """``"//pkg:"`` for a valid package, else None (``str(Label(package,
    name))`` without the name)."""
    try:
        _check_package(package, package)
    except LabelError:
        return None
    return "//:" if package in ("", ".") else f"//{package}:"


def _good_name(name: object) -> bool:
    return type(name) is str and name not in (".", "..") and TARGET_NAME_RE.fullmatch(name) is not None


def label_text(text: object, package: str) -> str:
    """``str(Label.parse(text, package))``; raises the same ``LabelError``."""
    if type(text) is str:
        if text.startswith("//"):
            return _absolute_text(text)
        if text.startswith(":"):
            prefix = _prefix(package)
            if prefix is not None and _good_name(text[1:]):
                return prefix + text[1:]
    return str(Label.parse(text, package))


def target_label_text(package: str, name: object) -> str:
    """``str(Label(package, name))``; raises the same ``LabelError``."""
    if _good_name(name):
        prefix = _prefix(package)
        if prefix is not None:
            return prefix + name  # type: ignore[operator]
    return str(Label(package, name))  # type: ignore[arg-type]
