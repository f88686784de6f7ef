"""Differential and property tests of the normpath kernels.

For arbitrary text (biased towards separators, dots, drive letters, reserved
names and control characters) the pure and compiled kernels return the same
string or raise the same error class. Properties (on every implementation):
normalize is idempotent, and on valid relative input it agrees with
``posixpath.normpath`` after ``\\`` -> ``/``.
"""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zako.exceptions import PathError

_ATOMS = st.sampled_from(
    ["/", "\\", ".", "..", "...", "a", "b", "..foo", ".bashrc", "con", "CoM1", "lpt\u00b2", "nul.txt", "aux",
     "C:", "c", ":", " ", "x ", "é", "日本", "😀", "\x00", "\x01", "\x1f", "\x7f", "<", "|", "$", "`", "'",
     "com0", "lpt10", "prn.", "AUX.c", "\u00b9", "\u0131", "ſ"]
)
_TEXT = st.one_of(
    st.lists(_ATOMS, max_size=14).map("".join),
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("ab./\\: \x01éC日"), max_size=30),
)
# Valid-looking relative paths: names that pass the checks, steps and separators.
_NAME = st.text(alphabet=st.sampled_from("abcXYZ019_-+é日😀"), min_size=1, max_size=6) | st.sampled_from(
    ["..foo", ".bashrc", "a.b", "con1", "COM10", "x.con"]
)
_VALID = st.lists(
    st.one_of(_NAME, st.sampled_from([".", "..", ""])), min_size=1, max_size=10
).flatmap(lambda parts: st.tuples(st.just(parts), st.lists(st.sampled_from(["/", "\\", "//", "\\/"]),
                                                               min_size=len(parts), max_size=len(parts))))
_SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except PathError as exc:
        return ("error", type(exc))
    except TypeError:
        return ("error", TypeError)


def _join(parts_seps):
    parts, seps = parts_seps
    text = "".join(p + s for p, s in zip(parts, seps))[: -len(seps[-1])]
    return text or "."


@_SETTINGS
@given(text=_TEXT, check=st.booleans())
def test_same_result_or_same_error(pure_kernels, cython_kernels, text, check):
    p = _outcome(pure_kernels.normpath.normalize, text, check)
    c = _outcome(cython_kernels.normpath.normalize, text, check)
    assert p == c


@_SETTINGS
@given(a=_TEXT, b=_TEXT)
def test_relative_and_is_in_dir_agree(pure_kernels, cython_kernels, a, b):
    for name in ("relative", "is_in_dir"):
        assert _outcome(getattr(pure_kernels.normpath, name), a, b) == _outcome(
            getattr(cython_kernels.normpath, name), a, b
        )


@_SETTINGS
@given(texts=st.lists(_TEXT, max_size=8))
def test_normalize_many_agrees(pure_kernels, cython_kernels, texts):
    assert _outcome(pure_kernels.normpath.normalize_many, texts) == _outcome(
        cython_kernels.normpath.normalize_many, texts
    )


@_SETTINGS
@given(text=_TEXT)
def test_idempotent(kernels, text):
    try:
        once = kernels.normpath.normalize(text)
    except PathError:
        return
    assert kernels.normpath.normalize(once) == once


@_SETTINGS
@given(parts_seps=_VALID)
def test_valid_input_matches_posixpath(kernels, parts_seps):
    text = _join(parts_seps)
    if text[0] in "/\\":
        return  # absolute: covered by the contract tests
    out = kernels.normpath.normalize(text)
    assert out == posixpath.normpath(text.replace("\\", "/"))
    assert kernels.normpath.normalize(out) == out


@_SETTINGS
@given(text=_TEXT)
def test_any_valid_input_matches_posixpath(kernels, text):
    try:
        out = kernels.normpath.normalize(text)
    except PathError:
        return
    assert out == posixpath.normpath(text.replace("\\", "/"))


@_SETTINGS
@given(a=_VALID, b=_VALID)
def test_relative_leads_from_one_to_the_other(kernels, a, b):
    k = kernels.normpath
    fa, fb = _join(a), _join(b)
    if fa[0] in "/\\" or fb[0] in "/\\":
        return
    rel = k.relative(fa, fb)
    na, nb = k.normalize(fa), k.normalize(fb)
    if rel is None:
        # Inexpressible only when from_ must climb out of one of its own ".." steps.
        assert ".." in na.split("/")
        return
    assert k.normalize(f"{na}/{rel}") == nb
    if not na.startswith("..") and not nb.startswith(".."):
        assert rel == posixpath.relpath(nb, na)
    assert k.is_in_dir(nb, na) == (rel == "." or rel.split("/")[0] != "..")


@pytest.mark.parametrize("check", [True, False])
def test_identity_for_normal_input_is_value_equal(pure_kernels, cython_kernels, check):
    # The compiled kernel returns normal input unchanged; the pure one rebuilds it.
    for text in ["a", "a/b", "..", "../x/y", "é/日"]:
        assert cython_kernels.normpath.normalize(text, check) == pure_kernels.normpath.normalize(text, check) == text
