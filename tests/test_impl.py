"""Kernel selection: the compiled build must be what loads, unless pure is asked."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import pytest

from zako import _impl


def _run(code: str, **env: str) -> str:
    full_env = {k: v for k, v in os.environ.items() if k != "ZAKO_PURE"}
    full_env.update(env)
    out = subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.skipif(_impl.PURE_REQUESTED, reason="pure leg: the compiled build is checked in the other leg")
def test_default_import_is_compiled():
    # A fresh interpreter, so nothing imported here can mask a broken build.
    assert _run("import zako; print(zako.IMPLEMENTATION)") == "cython"


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_zako_pure_forces_pure(value):
    assert _run("import zako; print(zako.IMPLEMENTATION)", ZAKO_PURE=value) == "pure"


@pytest.mark.parametrize("value", ["0", "", "no"])
def test_other_values_do_not_force_pure(value):
    impl = _run("import zako; print(zako.IMPLEMENTATION)", ZAKO_PURE=value)
    if _impl.PURE_REQUESTED:
        assert impl in ("cython", "pure")
    else:
        assert impl == "cython"


def test_selected_kernels_match_implementation():
    package = "zako._core" if _impl.IMPLEMENTATION == "cython" else "zako.pure"
    for name in _impl.KERNEL_NAMES:
        assert _impl.kernel(name).__name__ == f"{package}.{name}"


def _public(module):
    return sorted(n for n in getattr(module, "__all__", ()) if not n.startswith("_"))


@pytest.mark.parametrize("name", _impl.KERNEL_NAMES)
def test_kernel_parity_of_public_names(name, cython_kernels, pure_kernels):
    core, pure = getattr(cython_kernels, name), getattr(pure_kernels, name)
    assert _public(core), f"zako._core.{name} declares no __all__"
    assert _public(core) == _public(pure)
    for attr in _public(pure):
        p, c = getattr(pure, attr), getattr(core, attr)
        assert type(p) is type(c) or (inspect.isclass(p) and inspect.isclass(c)) or (
            callable(p) and callable(c)
        ), attr
        if inspect.isclass(p):
            methods = {m for m in vars(p) if not m.startswith("_") or m in ("__init__", "__len__", "__contains__")}
            missing = {m for m in methods if not hasattr(c, m)}
            assert not missing, f"{name}.{attr} compiled lacks {sorted(missing)}"


def test_exceptions_are_shared_between_kernels(cython_kernels, pure_kernels):
    # Both kernel sets must raise the classes from zako.exceptions.
    import zako.exceptions as exc

    for mod in (cython_kernels.interner, pure_kernels.interner):
        assert mod.InternerError is exc.InternerError
