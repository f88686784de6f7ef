"""Shared fixtures: every kernel test runs against both implementations."""

from __future__ import annotations

import os
import types

import pytest

from zako import _impl

IMPLS = ["cython", "pure"]


def _load(impl: str) -> types.SimpleNamespace:
    return types.SimpleNamespace(impl=impl, **_impl.load_kernels(impl))


@pytest.fixture(
    scope="session",
    params=[
        pytest.param(
            "cython",
            marks=pytest.mark.skipif(
                _impl.PURE_REQUESTED,
                reason="ZAKO_PURE=1: the compiled kernels are deliberately not used",
            ),
        ),
        "pure",
    ],
)
def kernels(request) -> types.SimpleNamespace:
    """The kernel modules of one implementation: ``kernels.interner`` etc."""
    return _load(request.param)


@pytest.fixture(scope="session")
def pure_kernels() -> types.SimpleNamespace:
    return _load("pure")


@pytest.fixture(scope="session")
def cython_kernels() -> types.SimpleNamespace:
    """The compiled kernels; differential tests compare them with pure ones."""
    if _impl.PURE_REQUESTED:
        pytest.skip("ZAKO_PURE=1: the compiled kernels are deliberately not used")
    return _load("cython")


def pytest_report_header(config):
    return f"zako kernels: {_impl.IMPLEMENTATION} (ZAKO_PURE={os.environ.get('ZAKO_PURE', '')!r})"
