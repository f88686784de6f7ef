"""Pick the kernel implementation: compiled (Cython) or pure Python.

This is the only module that reads ``ZAKO_PURE``. ``1``/``true``/``yes``/``on``
force the pure kernels; otherwise the compiled kernels are used, and if any of
them cannot be imported (no compiler at install time, a broken build) every
kernel falls back to pure together, so the two sets are never mixed.
``IMPLEMENTATION`` says which set was loaded; the test suite asserts it is
``"cython"`` unless pure mode was asked for, so a fallback cannot hide in CI.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["IMPLEMENTATION", "KERNEL_NAMES", "PURE_REQUESTED", "kernel", "load_kernels"]

# The kernels written twice: zako/_core/<name>.pyx and zako/pure/<name>.py.
KERNEL_NAMES = ("interner", "ledger", "normpath")

_TRUE = {"1", "true", "yes", "on"}
PURE_REQUESTED = os.environ.get("ZAKO_PURE", "").strip().lower() in _TRUE


def load_kernels(impl: str) -> dict[str, ModuleType]:
    """Import every kernel of one implementation (``"cython"`` or ``"pure"``)."""
    package = {"cython": "zako._core", "pure": "zako.pure"}[impl]
    return {name: importlib.import_module(f"{package}.{name}") for name in KERNEL_NAMES}


if TYPE_CHECKING:  # the pure kernels are the typed source of truth
    from .pure import interner as _interner  # noqa: F401

_kernels: dict[str, ModuleType]
if PURE_REQUESTED:
    IMPLEMENTATION = "pure"
    _kernels = load_kernels("pure")
else:
    try:
        _kernels = load_kernels("cython")
        IMPLEMENTATION = "cython"
    except ImportError:
        IMPLEMENTATION = "pure"
        _kernels = load_kernels("pure")


def kernel(name: str) -> ModuleType:
    """The selected implementation of kernel ``name``."""
    return _kernels[name]
