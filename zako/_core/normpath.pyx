# cython: language_level=3
"""Neutral-path normalization, compiled kernel.

Same contract as ``zako.pure.normpath`` (DESIGN.md section 2; the rules are
spelled out in that module's docstring). How this one is fast:

* The text is read in place through its PEP 393 storage (1, 2 or 4 bytes a
  character), in one pass that splits, folds and validates, with no Python
  object per part. 1-byte text (the common case) copies each character once
  into a stack buffer as it goes, so dropping or popping a part is moving
  the write position back; wider text keeps (start, end) offsets of the
  kept parts and copies them at the end (a scan specialized per width by a
  fused type).
* A character is classified by one load from a 256-entry table (name
  character, separator, forbidden) and one well-predicted branch; the
  reserved-stem test runs only for stems of length 3 or 4.
* Input that is already normal (no ``\\``, no empty, ``.`` or folding ``..``
  part) is returned as the same ``str`` object: no allocation at all.
* Otherwise the result is made once: a fresh ASCII string for ASCII input,
  else ``PyUnicode_FromKindAndData``, which picks the canonical width (a
  result that dropped every non-ASCII part must not keep a wider
  representation, or it would compare unequal to the same ASCII text).
* Ordinary lengths need no heap scratch: a 3.2 KB stack buffer serves paths
  up to ~700 characters; longer ones take one malloc.
"""

cimport cython
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from ..exceptions import (
    EmptyPathError,
    InvalidCharacterError,
    InvalidFormatError,
    PathIsAbsoluteError,
)

__all__ = ["normalize", "normalize_many", "relative", "is_in_dir"]

cdef extern from "Python.h":
    ctypedef unsigned char Py_UCS1
    ctypedef unsigned short Py_UCS2
    int PyUnicode_KIND(object o)
    void* PyUnicode_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    bint PyUnicode_IS_ASCII(object o)
    bint PyUnicode_CheckExact(object o)
    bint PyUnicode_Check(object o)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    object PyUnicode_FromKindAndData(int kind, const void* buffer, Py_ssize_t size)

ctypedef fused uchar_t:
    Py_UCS1
    Py_UCS2
    Py_UCS4

# Character classes of the code points below 256, one table per mode: 0 a
# name character, 1 a separator (/ or \\), 2 forbidden in a name (controls
# U+0000..U+001F and < > : " | ? * ' ` $, as zako.pure.normpath._FORBIDDEN).
# One load and one well-predicted branch per character in the scan.
cdef unsigned char _CLASS_CHECK[256]
cdef unsigned char _CLASS_FOLD[256]


cdef void _init_tables() noexcept:
    cdef int c
    for c in range(256):
        _CLASS_CHECK[c] = 0
        _CLASS_FOLD[c] = 0
    for c in range(0x20):
        _CLASS_CHECK[c] = 2
    for c in b"<>:\"|?*'`$":
        _CLASS_CHECK[c] = 2
    for c in b"/\\":
        _CLASS_CHECK[c] = 1
        _CLASS_FOLD[c] = 1


_init_tables()

cdef enum:
    ERR_NONE = 0
    ERR_CHAR = 1
    ERR_TRAILING = 2
    ERR_RESERVED = 3
    LOCAL_SCRATCH = 400

cdef struct Scan:
    Py_ssize_t top        # kept parts on the stack
    Py_ssize_t nup        # how many of them (a leading run) are ".."
    Py_ssize_t out_len    # characters of the kept parts, separators excluded
    int changed           # the result differs from the input text
    int err
    Py_ssize_t err_s
    Py_ssize_t err_e
    unsigned int err_ch

cdef str _DOT = "."


cdef inline unsigned int _lower(unsigned int c) noexcept nogil:
    # ASCII-only folding: the rule is ASCII case-insensitive.
    if 0x41 <= c <= 0x5A:
        return c + 0x20
    return c


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline bint _reserved(const uchar_t* d, Py_ssize_t s, Py_ssize_t e) noexcept nogil:
    cdef Py_ssize_t stem = 0
    while s + stem < e and d[s + stem] != 0x2E:  # '.'
        stem += 1
        if stem > 4:
            return False
    if stem != 3 and stem != 4:
        return False
    cdef unsigned int a = _lower(d[s]), b = _lower(d[s + 1]), c = _lower(d[s + 2]), x
    if stem == 3:
        return ((a == 0x63 and b == 0x6F and c == 0x6E)        # con
                or (a == 0x70 and b == 0x72 and c == 0x6E)     # prn
                or (a == 0x61 and b == 0x75 and c == 0x78)     # aux
                or (a == 0x6E and b == 0x75 and c == 0x6C))    # nul
    if not ((a == 0x63 and b == 0x6F and c == 0x6D)            # com
            or (a == 0x6C and b == 0x70 and c == 0x74)):       # lpt
        return False
    x = d[s + 3]
    return (0x31 <= x <= 0x39) or x == 0xB9 or x == 0xB2 or x == 0xB3


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef void _scan(const uchar_t* d, Py_ssize_t n, bint check,
                Py_ssize_t* starts, Py_ssize_t* ends, Scan* sc) noexcept nogil:
    """Split ``d[:n]`` on / and \\, fold, and validate names (when ``check``).

    Fills ``starts``/``ends`` (capacity n // 2 + 1) with the kept parts; on the
    first invalid name stops with ``sc.err`` set and the part in err_s/err_e.
    """
    cdef Py_ssize_t i = 0, s, e, k
    cdef unsigned int c, cls = 0
    cdef const unsigned char* table = &_CLASS_FOLD[0]
    if check:
        table = &_CLASS_CHECK[0]
    sc.top = 0
    sc.nup = 0
    sc.out_len = 0
    sc.changed = 0
    sc.err = ERR_NONE
    while i <= n:
        s = i
        cls = 0
        while i < n:
            c = d[i]
            if uchar_t is Py_UCS1:
                cls = table[c]
            else:
                cls = table[c] if c < 256 else 0
            if cls:
                break
            i += 1
        if cls == 2:
            sc.err = ERR_CHAR
            sc.err_ch = d[i]
            # The part still runs to the next separator (for the message).
            while i < n and d[i] != 0x2F and d[i] != 0x5C:
                i += 1
            sc.err_s = s
            sc.err_e = i
            return
        e = i
        if i < n and d[i] == 0x5C:
            sc.changed = 1
        i += 1  # past the separator (or past the end)
        k = e - s
        if k == 0:
            sc.changed = 1
            continue
        if d[s] == 0x2E:
            if k == 1:
                sc.changed = 1
                continue
            if k == 2 and d[s + 1] == 0x2E:
                if sc.top > sc.nup:
                    sc.top -= 1
                    sc.out_len -= ends[sc.top] - starts[sc.top]
                    sc.changed = 1
                else:
                    starts[sc.top] = s
                    ends[sc.top] = e
                    sc.top += 1
                    sc.nup += 1
                    sc.out_len += 2
                continue
        if check:
            c = d[e - 1]
            if c == 0x20 or c == 0x2E:
                sc.err = ERR_TRAILING
            elif (k == 3 or k == 4 or (k > 4 and (d[s + 3] == 0x2E or d[s + 4] == 0x2E))) and _reserved(d, s, e):
                sc.err = ERR_RESERVED
            if sc.err != ERR_NONE:
                sc.err_s = s
                sc.err_e = e
                return
        starts[sc.top] = s
        ends[sc.top] = e
        sc.top += 1
        sc.out_len += k


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _fold1(const Py_UCS1* d, Py_ssize_t n, bint check, Py_UCS1* out,
                 Py_ssize_t* kept, Scan* sc) noexcept nogil:
    """``_scan`` for 1-byte text, writing the result into ``out`` as it goes.

    Each character is read once and copied once; a kept part is followed by
    ``/`` in ``out`` and ``kept`` holds where each kept part starts there, so
    dropping or popping a part is resetting the write position. On return
    ``sc.out_len`` is the result's length (``sc.top`` kept parts); errors
    as ``_scan``. ``out`` and ``kept`` hold at least n and n // 2 + 1.
    """
    cdef Py_ssize_t i = 0, o = 0, s, k, part
    cdef unsigned int c = 0, t = 0
    cdef bint pushed
    cdef const unsigned char* table = &_CLASS_FOLD[0]
    if check:
        table = &_CLASS_CHECK[0]
    sc.top = 0
    sc.nup = 0
    sc.changed = 0
    sc.err = ERR_NONE
    while True:
        s = i
        part = o
        t = 0
        while i < n:
            c = d[i]
            t = table[c]
            if t:
                break
            out[o] = <Py_UCS1>c
            o += 1
            i += 1
        if t == 2:
            sc.err = ERR_CHAR
            sc.err_ch = c
            while i < n and d[i] != 0x2F and d[i] != 0x5C:
                i += 1
            sc.err_s = s
            sc.err_e = i
            return
        k = i - s
        pushed = 0
        if k == 0 or (k == 1 and d[s] == 0x2E):
            sc.changed = 1
            o = part
        elif k == 2 and d[s] == 0x2E and d[s + 1] == 0x2E:
            if sc.top > sc.nup:
                sc.top -= 1
                o = kept[sc.top]
                sc.changed = 1
            else:
                kept[sc.top] = part
                sc.top += 1
                sc.nup += 1
                pushed = 1
        else:
            if check:
                c = d[i - 1]
                if c == 0x20 or c == 0x2E:
                    sc.err = ERR_TRAILING
                elif (k == 3 or k == 4 or (k > 4 and (d[s + 3] == 0x2E or d[s + 4] == 0x2E))) and _reserved(d, s, i):
                    sc.err = ERR_RESERVED
                if sc.err != ERR_NONE:
                    sc.err_s = s
                    sc.err_e = i
                    return
            kept[sc.top] = part
            sc.top += 1
            pushed = 1
        if i >= n:
            break
        if d[i] == 0x5C:
            sc.changed = 1
        if pushed:
            out[o] = 0x2F
            o += 1
        i += 1
    if o and out[o - 1] == 0x2F:
        o -= 1
    sc.out_len = o


cdef int _raise_part_error(str text, Scan* sc) except -1:
    cdef str part = text[sc.err_s:sc.err_e]
    if sc.err == ERR_CHAR:
        raise InvalidCharacterError(
            f"path part {part!r} of {text!r} holds the forbidden character {chr(sc.err_ch)!r}"
        )
    if sc.err == ERR_TRAILING:
        raise InvalidFormatError(f"path part {part!r} of {text!r} ends with a space or a dot")
    raise InvalidFormatError(f"path part {part!r} of {text!r} is a Windows reserved name")


cdef inline void _copy_parts(char* out, const char* src, int width, Py_ssize_t top,
                             const Py_ssize_t* starts, const Py_ssize_t* ends) noexcept nogil:
    cdef Py_ssize_t j, pos = 0, k
    for j in range(top):
        if j:
            if width == 1:
                out[pos] = 0x2F
            elif width == 2:
                (<Py_UCS2*>(out + pos))[0] = 0x2F
            else:
                (<Py_UCS4*>(out + pos))[0] = 0x2F
            pos += width
        k = (ends[j] - starts[j]) * width
        memcpy(out + pos, src + starts[j] * width, k)
        pos += k


cdef str _absolute_error(str text):
    if text[0] == "/" or text[0] == "\\":
        return f"path {text!r} is absolute (leading {text[0]!r}); a neutral path is relative"
    return f"path {text!r} is absolute (drive {text[:2]!r}); a neutral path is relative"


cdef str _normalize(object obj, bint check):
    cdef str text
    if PyUnicode_CheckExact(obj):
        text = <str>obj
    elif PyUnicode_Check(obj):
        text = str.__str__(obj)  # the plain text, whatever the subclass's __str__ says
    else:
        raise TypeError(f"a path is a str, got {type(obj).__name__} {obj!r}")
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    if n == 0:
        raise EmptyPathError("the empty string is not a path")
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef unsigned int c0, c1
    if kind == 1:
        c0 = (<Py_UCS1*>data)[0]
        c1 = (<Py_UCS1*>data)[1] if n > 1 else 0
    elif kind == 2:
        c0 = (<Py_UCS2*>data)[0]
        c1 = (<Py_UCS2*>data)[1] if n > 1 else 0
    else:
        c0 = (<Py_UCS4*>data)[0]
        c1 = (<Py_UCS4*>data)[1] if n > 1 else 0
    if c0 == 0x2F or c0 == 0x5C or (c1 == 0x3A and (0x41 <= c0 <= 0x5A or 0x61 <= c0 <= 0x7A)):
        raise PathIsAbsoluteError(_absolute_error(text))

    # Scratch, on the stack for ordinary lengths: kept-part offsets, then
    # (1-byte text) the result being written or (wider text) part ends.
    cdef Py_ssize_t local[LOCAL_SCRATCH]
    cdef Py_ssize_t* scratch = local
    cdef Py_ssize_t cap = n // 2 + 1
    cdef Py_ssize_t need = 2 * cap + n // <Py_ssize_t>sizeof(Py_ssize_t) + 1
    cdef Py_ssize_t* starts = scratch
    cdef Py_ssize_t* ends
    cdef Py_UCS1* out1
    cdef Scan sc
    cdef char* buf
    cdef object out
    if need > LOCAL_SCRATCH:
        scratch = <Py_ssize_t*>malloc(need * sizeof(Py_ssize_t))
        if scratch == NULL:
            raise MemoryError()
        starts = scratch
    ends = starts + cap
    out1 = <Py_UCS1*>ends
    try:
        if kind == 1:
            _fold1(<const Py_UCS1*>data, n, check, out1, starts, &sc)
        elif kind == 2:
            _scan(<const Py_UCS2*>data, n, check, starts, ends, &sc)
        else:
            _scan(<const Py_UCS4*>data, n, check, starts, ends, &sc)
        if sc.err != ERR_NONE:
            _raise_part_error(text, &sc)
        if not sc.changed:
            return text
        if sc.top == 0:
            return _DOT
        if kind == 1:
            if PyUnicode_IS_ASCII(text):
                out = PyUnicode_New(sc.out_len, 127)
                memcpy(PyUnicode_DATA(out), out1, sc.out_len)
                return <str>out
            return <str>PyUnicode_FromKindAndData(1, out1, sc.out_len)
        n = sc.out_len + sc.top - 1
        buf = <char*>malloc(n * kind)
        if buf == NULL:
            raise MemoryError()
        try:
            _copy_parts(buf, <const char*>data, kind, sc.top, starts, ends)
            return <str>PyUnicode_FromKindAndData(kind, buf, n)
        finally:
            free(buf)
    finally:
        if scratch != local:
            free(scratch)


def normalize(text, bint check=True):
    """The neutral form of ``text`` (rules: ``zako.pure.normpath``).

    Raises ``EmptyPathError``, ``PathIsAbsoluteError``, and with ``check``
    ``InvalidCharacterError`` / ``InvalidFormatError`` naming the part and
    the input; ``TypeError`` for a non-str. One pass; already-normal input
    comes back as the same object.
    """
    return _normalize(text, check)


def normalize_many(texts):
    """``normalize`` (with checks) of each text, in order, as a list."""
    cdef list out = []
    for t in texts:
        out.append(_normalize(t, True))
    return out


cdef list _parts(str normalized):
    if normalized == ".":
        return []
    return normalized.split("/")


def relative(from_, to):
    """Path from directory ``from_`` to ``to``, or None when inexpressible.

    Both are normalized and validated first (their ``PathError`` propagates).
    """
    cdef list f = _parts(_normalize(from_, True))
    cdef list t = _parts(_normalize(to, True))
    cdef Py_ssize_t common = 0, nf = len(f), nt = len(t), j
    while common < nf and common < nt and f[common] == t[common]:
        common += 1
    for j in range(common, nf):
        if f[j] == "..":
            return None
    cdef list out = [".."] * (nf - common) + t[common:]
    return "/".join(out) if out else _DOT


def is_in_dir(path, dir):
    """True when ``path`` is ``dir`` itself or below it (lexically)."""
    cdef list p = _parts(_normalize(path, True))
    cdef list d = _parts(_normalize(dir, True))
    cdef Py_ssize_t nd = len(d), np_ = len(p)
    if nd > np_ or p[:nd] != d:
        return False
    return np_ == nd or p[nd] != ".."
