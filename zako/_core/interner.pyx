# cython: language_level=3
"""String interner, compiled kernel.

Same contract as ``zako.pure.interner`` (DESIGN.md section 1), without one
Python object per interned string:

* Each string is a *record* in numpy ``uint8`` arena chunks (256 KiB apart
  in a virtual address space; a longer string gets a buffer of its own):
  ``u32 key``, its UTF-8 length (one byte, or 0xFF and a u32), the bytes,
  padded to 4. A record's *locator* is ``(chunk << 16) | (offset / 4)``
  (so the arena holds up to 16 GiB). A C array holds the chunk pointers.
* Per-key entries are the records' locators, in *paged* numpy ``uint32``
  arrays (16384 keys a page; page 0 starts small and doubles up to that).
  Paging instead of doubling keeps the slack under one page.
* Lookup is an open-addressing, linear-probing table of 5-byte slots: a
  record locator (0 = empty) and a ``uint8`` tag of 8 more hash bits. The
  slot leads straight to the record, where key, length and bytes share a
  cache line: a hit is one table miss plus one arena miss, and most probes
  that do not match are rejected by the tag without touching the arena.
  The table size is not a power of two: a slot is ``hi64(hash * capacity)``,
  so it can grow by 1.45x (load 0.8 -> 0.55) instead of 2x.

Memory per string: UTF-8 length + ~7.5 (record header and padding) + 4
(entry) + 6.25..9.1 (table) + page and chunk tails, under length + 24 bytes.
(The first design kept a 12-byte offset+length entry per key and keys in the
table; a hit then needed table -> entry -> arena, three dependent misses,
which measured no faster per call than a dict + list on a 200k-string corpus.)

Concurrency (with the GIL): readers take no lock. Every mutation is a stretch
of C code that calls no Python code, so no other thread can run in the middle
of one; Python-level allocations (numpy buffers) happen before such a stretch
and only ever add capacity. Writers serialize on a lock; a miss that needs no
allocation while no writer is busy is itself one such C stretch and skips the
lock. ``intern_many`` stages new keys above ``_count`` and publishes them with
one store at the end; readers ignore table slots whose key is above
``_count``, and a failed batch removes its staged slots again, newest first,
so no key a reader could see is ever taken back. (A free-threaded
Python without a GIL would need atomics here; 3.11+ with the GIL is assumed.)
"""

cimport cython
cimport numpy as cnp
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_Clear, PyErr_ExceptionMatches
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from cpython.number cimport PyNumber_Index
from cpython.object cimport PyObject
from cpython.pythread cimport (
    NOWAIT_LOCK,
    WAIT_LOCK,
    PyThread_acquire_lock,
    PyThread_allocate_lock,
    PyThread_get_thread_ident,
    PyThread_free_lock,
    PyThread_release_lock,
    PyThread_type_lock,
)
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.unicode cimport PyUnicode_Check, PyUnicode_DecodeUTF8
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy

import operator
import secrets

import numpy as np

from .. import _interner_file
from ..exceptions import (
    InternerEncodingError,
    InternerError,
    InternerFileError,
    InternerFullError,
    InternerTypeError,
    UnknownKeyError,
)

cnp.import_array()

__all__ = ["Interner", "InternerError", "MAX_KEYS", "CHUNK_BYTES"]

MAX_KEYS = 2**32 - 2
CHUNK_BYTES = 256 * 1024

cdef extern from "Python.h":
    # Declared without an exception spec: NULL is handled by hand so that a
    # UnicodeEncodeError can become InternerEncodingError cheaply.
    const char* _utf8_and_size "PyUnicode_AsUTF8AndSize"(object s, Py_ssize_t* size)

cdef extern from *:
    """
    #include <string.h>
    #include <stdint.h>

    /* 64x64 -> 128-bit multiply, returned as (hi, lo) halves. */
    #if defined(__SIZEOF_INT128__)
    static inline uint64_t zk_mulhi(uint64_t a, uint64_t b) {
        return (uint64_t)(((__uint128_t)a * b) >> 64);
    }
    static inline uint64_t zk_fold(uint64_t a, uint64_t b) {
        __uint128_t r = (__uint128_t)a * b;
        return (uint64_t)r ^ (uint64_t)(r >> 64);
    }
    #else
    static inline void zk_mul128(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo) {
        uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
        uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
        uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
        *lo = (mid << 32) | (uint32_t)p00;
        *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    }
    static inline uint64_t zk_mulhi(uint64_t a, uint64_t b) {
        uint64_t hi, lo; zk_mul128(a, b, &hi, &lo); return hi;
    }
    static inline uint64_t zk_fold(uint64_t a, uint64_t b) {
        uint64_t hi, lo; zk_mul128(a, b, &hi, &lo); return hi ^ lo;
    }
    #endif

    /* An arena position is the low half of an entry offset; a length is a u32. */
    #define ZK_POS_MASK 0xFFFFFFFFULL

    #define ZK_K0 0x9E3779B97F4A7C15ULL
    #define ZK_K1 0xD6E8FEB86659FD93ULL
    #define ZK_K2 0xC2B2AE3D27D4EB4FULL

    /* Hash of a byte string, 8 bytes at a time. Each word is xored into the
       state and folded through a full 64x64->128 multiply (both halves xored),
       which spreads every input bit over the whole state. The last 1..8
       bytes are read as one (possibly overlapping) word, so no byte loop;
       the length is mixed in first, which keeps the overlap unambiguous. */
    static inline uint64_t zk_hash(const char *s, Py_ssize_t len, uint64_t seed) {
        const unsigned char *p = (const unsigned char *)s;
        uint64_t n = (uint64_t)len;
        uint64_t h = seed ^ (n * ZK_K0);
        uint64_t w;
        if (n > 8) {
            const unsigned char *last = p + n - 8;
            while (p < last) {
                memcpy(&w, p, 8);
                h = zk_fold(h ^ w, ZK_K1);
                p += 8;
            }
            memcpy(&w, last, 8);
        } else if (n >= 4) {
            uint32_t a, b;
            memcpy(&a, p, 4);
            memcpy(&b, p + n - 4, 4);
            w = ((uint64_t)a << 32) | b;
        } else if (n > 0) {
            w = ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
        } else {
            w = 0;
        }
        return zk_fold(h ^ w, ZK_K2);
    }

    /* A table slot is 5 bytes: key (u32) then tag (u8), so one cache line
       answers both "empty?" and "worth comparing?". */
    static inline uint32_t zk_slot_key(const unsigned char *t, uint64_t i) {
        uint32_t k; memcpy(&k, t + i * 5, 4); return k;
    }
    static inline uint8_t zk_slot_tag(const unsigned char *t, uint64_t i) { return t[i * 5 + 4]; }
    static inline void zk_slot_set(unsigned char *t, uint64_t i, uint32_t k, uint8_t tag) {
        memcpy(t + i * 5, &k, 4); t[i * 5 + 4] = tag;
    }

    /* Byte equality for the short strings typical here, without a libc call:
       8-byte words, the last word read overlapping (n is the same for both). */
    static inline int zk_equal(const char *a, const char *b, Py_ssize_t len) {
        uint64_t x, y;
        size_t n = (size_t)len, i = 0;
        if (n >= 8) {
            for (; i + 8 < n; i += 8) {
                memcpy(&x, a + i, 8); memcpy(&y, b + i, 8);
                if (x != y) return 0;
            }
            memcpy(&x, a + n - 8, 8); memcpy(&y, b + n - 8, 8);
            return x == y;
        }
        for (; i < n; i++) if (a[i] != b[i]) return 0;
        return 1;
    }

    /* Arena record: u32 key, length (1 byte if < 255, else 0xFF then u32),
       the UTF-8 bytes; records start at 4-byte boundaries. A locator is
       (virtual chunk << 16) | (offset / 4), chunks being 256 KiB apart. */
    static inline uint32_t zk_rec_key(const unsigned char *rec) {
        uint32_t k; memcpy(&k, rec, 4); return k;
    }
    static inline const char *zk_rec_bytes(const unsigned char *rec, Py_ssize_t *n) {
        uint32_t len;
        if (rec[4] != 255) { *n = rec[4]; return (const char *)rec + 5; }
        memcpy(&len, rec + 5, 4); *n = len; return (const char *)rec + 9;
    }
    static inline uint64_t zk_rec_size(Py_ssize_t n) {
        return ((uint64_t)n + (n < 255 ? 5 : 9) + 3) & ~(uint64_t)3;
    }
    static inline uint64_t zk_rec_write(unsigned char *rec, uint32_t k, const char *p, Py_ssize_t n) {
        uint32_t len = (uint32_t)n;
        memcpy(rec, &k, 4);
        if (n < 255) { rec[4] = (unsigned char)n; memcpy(rec + 5, p, n); }
        else { rec[4] = 255; memcpy(rec + 5, &len, 4); memcpy(rec + 9, p, n); }
        return zk_rec_size(n);
    }

    #if defined(__GNUC__) || defined(__clang__)
    #define zk_prefetch(p) __builtin_prefetch((const void *)(p))
    #else
    #define zk_prefetch(p) ((void)0)
    #endif
    """
    uint64_t zk_hash(const char* s, Py_ssize_t n, uint64_t seed) noexcept nogil
    uint64_t zk_mulhi(uint64_t a, uint64_t b) noexcept nogil
    void zk_prefetch(const void* p) noexcept nogil
    bint zk_equal(const char* a, const char* b, Py_ssize_t n) noexcept nogil
    const uint64_t ZK_POS_MASK
    uint32_t zk_slot_key(const unsigned char* t, uint64_t i) noexcept nogil
    uint8_t zk_slot_tag(const unsigned char* t, uint64_t i) noexcept nogil
    void zk_slot_set(unsigned char* t, uint64_t i, uint32_t k, uint8_t tag) noexcept nogil
    uint32_t zk_rec_key(const unsigned char* rec) noexcept nogil
    const char* zk_rec_bytes(const unsigned char* rec, Py_ssize_t* n) noexcept nogil
    uint64_t zk_rec_size(Py_ssize_t n) noexcept nogil
    uint64_t zk_rec_write(unsigned char* rec, uint32_t k, const char* p, Py_ssize_t n) noexcept nogil


cdef enum:
    PAGE_SHIFT = 14
    PAGE_SIZE = 1 << PAGE_SHIFT
    PAGE_MASK = PAGE_SIZE - 1
    MIN_CHUNK = 4096
    VCHUNK_SHIFT = 18   # virtual chunks are 256 KiB apart (CHUNK_BYTES)
    MAX_VCHUNKS = 1 << 16  # locator: 16 bits of chunk, 16 of offset / 4 -> 16 GiB


cdef enum:
    LOOKAHEAD = 4       # items between pipeline stages in intern_many
    RING_MASK = 31      # ring of 32 >= 3 * LOOKAHEAD + 1 items in flight

cdef struct _Mark:  # the arena's fill state, to undo a failed batch
    Py_ssize_t narrays
    uint64_t vchunk
    uint64_t span
    uint64_t chunk_size
    uint64_t chunk_used
    uint64_t arena_bytes

cdef struct _Ring:
    const char* p[32]
    Py_ssize_t n[32]
    uint64_t h[32]
    bint valid[32]


cdef extern from "Python.h":
    bint _is_str "PyUnicode_Check"(PyObject* o) noexcept
    # For a compact ASCII str the data is its UTF-8 (CPython's own
    # PyUnicode_AsUTF8AndSize returns the same pointer).
    bint _is_compact_ascii "PyUnicode_IS_COMPACT_ASCII"(object o) noexcept
    Py_ssize_t _str_length "PyUnicode_GET_LENGTH"(object o) noexcept
    void* _str_data "PyUnicode_DATA"(object o) noexcept
    const char* _utf8_borrowed "PyUnicode_AsUTF8AndSize"(PyObject* o, Py_ssize_t* size) noexcept


cdef inline PyObject* _borrow(seq, bint is_list, Py_ssize_t j) noexcept:
    # Borrowed item j of a list or tuple, or NULL if a list shrank below j.
    if is_list:
        if j >= PyList_GET_SIZE(seq):
            return NULL
        return PyList_GET_ITEM(seq, j)
    return PyTuple_GET_ITEM(seq, j)


cdef uint64_t CHUNK_BYTES_C = 1 << VCHUNK_SHIFT


cdef enum:
    _TYPE = 0
    _ENCODING = 1
    _FULL = 2


cdef class _Deferred(Exception):
    """An error found while the lock is held. Its message runs ``repr()``
    of the caller's object, so it is built only after the lock is released:
    no caller code ever runs under the lock."""

    cdef readonly int kind
    cdef readonly object obj

    def __init__(self, int kind, obj):
        self.kind = kind
        self.obj = obj


cdef inline uint64_t _table_limit(uint64_t cap) noexcept nogil:
    # Grow past load 0.8.
    return cap * 4 // 5


cdef inline uint64_t _table_size_for(uint64_t n) noexcept nogil:
    # Load ~0.55 right after growing: room to grow 1.45x before the next one.
    cdef uint64_t cap = n * 100 // 55 + 1
    return cap if cap > 8 else 8


def _check_max_keys(max_keys):
    max_keys = operator.index(max_keys)
    if not 1 <= max_keys <= MAX_KEYS:
        raise ValueError(f"max_keys must be in 1..{MAX_KEYS}, got {max_keys}")
    return max_keys


@cython.final
cdef class Interner:
    """Maps strings to nonzero ``int`` keys ``1 .. max_keys`` in first-intern order.

    ``capacity_hint`` pre-sizes storage for that many strings (a hint only).
    Thread-safe; see the module docstring. Errors are the ``InternerError``
    subclasses of ``zako.exceptions``, each naming the interner id; a failed
    call changes nothing. Not subclassable (final, for direct C calls).
    """

    cdef uint64_t _id
    cdef uint64_t _seed
    cdef uint64_t _max_keys
    cdef uint64_t _count       # published keys: 1.._count are visible
    cdef uint64_t _staged      # keys written; > _count only inside a batch
    cdef PyThread_type_lock _lock
    cdef bint _busy            # a writer holds _lock (and may run Python code)
    cdef long _owner           # thread ident of that writer

    # entries: key k -> its record's locator, in page k >> PAGE_SHIFT at
    # k & PAGE_MASK; 4 bytes a key.
    cdef uint32_t** _pages
    cdef Py_ssize_t _npages
    cdef Py_ssize_t _pages_cap
    cdef uint64_t _entry_cap   # keys < _entry_cap have an entry slot
    cdef list _page_arrays

    # arena: _chunks[v] is the data of virtual chunk v (a string longer than
    # a chunk gets a buffer of its own spanning several virtual chunks)
    cdef unsigned char** _chunks
    cdef Py_ssize_t _chunks_cap
    cdef uint64_t _vchunk      # the current chunk
    cdef uint64_t _span        # virtual chunks the current chunk covers
    cdef uint64_t _chunk_size  # its size in bytes
    cdef uint64_t _chunk_used  # bytes used in it (a multiple of 4)
    cdef uint64_t _arena_bytes
    cdef list _chunk_arrays

    # lookup table
    cdef unsigned char* _slots  # 5-byte slots, see zk_slot_key
    cdef uint64_t _table_cap
    cdef uint64_t _table_limit
    cdef object _slots_array

    cdef object __weakref__

    def __cinit__(self, capacity_hint=1024, *, max_keys=MAX_KEYS):
        capacity_hint = operator.index(capacity_hint)
        if capacity_hint < 0:
            raise ValueError(f"capacity_hint must be >= 0, got {capacity_hint}")
        self._max_keys = _check_max_keys(max_keys)
        self._id = secrets.randbits(64)
        self._seed = secrets.randbits(64)  # per interner: no hash flooding across processes
        self._lock = PyThread_allocate_lock()
        if self._lock == NULL:
            raise MemoryError("cannot allocate the interner lock")
        self._page_arrays = []
        self._chunk_arrays = []
        cdef uint64_t hint = min(capacity_hint, MAX_KEYS)
        # Page 0 starts small and doubles up to a full page, so a small
        # interner does not pay for 16384 entries.
        self._add_page(min(PAGE_SIZE, max(16, hint + 1)))
        self._add_chunk(min(CHUNK_BYTES, max(MIN_CHUNK, hint * 40)), 0)
        self._chunk_used = 4  # locator 0 marks an empty table slot
        self._set_table(_table_size_for(hint))

    def __dealloc__(self):
        if self._lock != NULL:
            PyThread_free_lock(self._lock)
        free(self._pages)
        free(self._chunks)

    # -- identity ------------------------------------------------------------

    @property
    def id(self):
        """Random 64-bit id fixed at creation, kept by ``save``/``load``."""
        return self._id

    @property
    def max_keys(self):
        return self._max_keys

    cdef str _name(self):
        return f"interner {self._id:016x}"

    def __repr__(self):
        return f"<Interner id={self._id:016x} strings={self._count}>"

    # -- storage primitives (callers hold the lock) -----------------------------

    cdef int _add_page(self, Py_ssize_t size) except -1:
        """Append page ``_npages`` of ``size`` entries (only page 0 may be short)."""
        page = np.empty(size, dtype=np.uint32)
        cdef Py_ssize_t cap
        cdef uint32_t** pages
        if self._npages == self._pages_cap:
            cap = self._pages_cap * 2 + 4
            pages = <uint32_t**>realloc(self._pages, cap * sizeof(uint32_t*))
            if pages == NULL:
                raise MemoryError()
            self._pages = pages
            self._pages_cap = cap
        self._page_arrays.append(page)
        self._pages[self._npages] = <uint32_t*>cnp.PyArray_DATA(page)
        self._npages += 1
        self._entry_cap = <uint64_t>(self._npages - 1) * PAGE_SIZE + size
        return 0

    cdef int _grow_entries(self) except -1:
        """Make room for key ``_staged + 1``."""
        cdef uint64_t old = self._entry_cap
        cdef Py_ssize_t size
        if self._npages == 1 and old < PAGE_SIZE:
            size = min(PAGE_SIZE, old * 2)
            page = np.empty(size, dtype=np.uint32)
            # Copy, then swap: readers see either page, both hold every key.
            memcpy(cnp.PyArray_DATA(page), self._pages[0], old * sizeof(uint32_t))
            self._pages[0] = <uint32_t*>cnp.PyArray_DATA(page)
            self._page_arrays[0] = page
            self._entry_cap = size
        else:
            self._add_page(PAGE_SIZE)
        return 0

    cdef int _add_chunk(self, uint64_t size, uint64_t v) except -1:
        """Make a chunk of ``size`` bytes the current one, as virtual chunk ``v``."""
        cdef uint64_t span = (size + CHUNK_BYTES_C - 1) >> VCHUNK_SHIFT
        if v + span > MAX_VCHUNKS:
            raise InternerFullError(f"{self._name()}: the 16 GiB string arena is full")
        chunk = np.empty(size, dtype=np.uint8)
        cdef Py_ssize_t cap
        cdef unsigned char** c
        if <Py_ssize_t>(v + span) > self._chunks_cap:
            cap = max(self._chunks_cap * 2 + 8, <Py_ssize_t>(v + span))
            c = <unsigned char**>realloc(self._chunks, cap * sizeof(unsigned char*))
            if c == NULL:
                raise MemoryError()
            self._chunks = c
            self._chunks_cap = cap
        self._chunk_arrays.append(chunk)
        # Only _chunks[v] is ever dereferenced for a span; a record reaches
        # into the rest of its own buffer by offset.
        self._chunks[v] = <unsigned char*>cnp.PyArray_DATA(chunk)
        self._vchunk = v
        self._span = span
        self._chunk_size = size
        self._chunk_used = 0
        self._arena_bytes += size
        return 0

    cdef int _set_table(self, uint64_t cap) except -1:
        """Allocate a table of ``cap`` slots and rehash keys ``1.._staged`` into it."""
        slots_array = np.zeros(5 * cap, dtype=np.uint8)
        cdef unsigned char* slots = <unsigned char*>cnp.PyArray_DATA(slots_array)
        cdef uint64_t k, h, idx
        cdef const char* p
        cdef Py_ssize_t n
        cdef uint32_t loc
        for k in range(1, self._staged + 1):
            loc = self._pages[k >> PAGE_SHIFT][k & PAGE_MASK]
            p = zk_rec_bytes(self._record(loc), &n)
            h = zk_hash(p, n, self._seed)
            idx = zk_mulhi(h, cap)
            while zk_slot_key(slots, idx) != 0:
                idx += 1
                if idx == cap:
                    idx = 0
            zk_slot_set(slots, idx, loc, <uint8_t>h)
        self._slots = slots
        self._table_cap = cap
        self._table_limit = _table_limit(cap)
        self._slots_array = slots_array
        return 0

    cdef int _reserve(self, Py_ssize_t n) except -1:
        """Allocate whatever storing one more string of ``n`` bytes needs.

        Runs Python code (numpy allocation, so possibly the GC and other
        threads) but only ever adds capacity; the store itself is pure C.
        """
        if <uint64_t>n > ZK_POS_MASK:
            raise InternerFullError(f"{self._name()}: a string of {n} bytes exceeds the 4 GiB limit")
        cdef uint64_t size = zk_rec_size(n)
        if self._staged + 1 >= self._entry_cap:
            self._grow_entries()
        if self._chunk_used + size > self._chunk_size:
            self._add_chunk(
                max(size, min(CHUNK_BYTES_C, max(<uint64_t>MIN_CHUNK, self._chunk_size * 2))),
                self._vchunk + self._span,
            )
        if self._staged + 1 > self._table_limit:
            self._set_table(_table_size_for(self._staged + 1))
        return 0

    cdef inline bint _has_room(self, Py_ssize_t n) noexcept:
        return (
            self._staged + 1 < self._entry_cap
            and self._chunk_used + zk_rec_size(n) <= self._chunk_size
            and self._staged + 1 <= self._table_limit
        )

    cdef inline const unsigned char* _record(self, uint32_t loc) noexcept nogil:
        return self._chunks[loc >> 16] + ((<uint64_t>loc & 0xFFFF) << 2)

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef inline const char* _bytes_of(self, uint64_t k, Py_ssize_t* n) noexcept nogil:
        # k is in 1.._staged: a page and a record exist for it.
        return zk_rec_bytes(self._record(self._pages[k >> PAGE_SHIFT][k & PAGE_MASK]), n)

    cdef inline uint32_t _find(self, const char* p, Py_ssize_t n, uint64_t h, uint64_t limit) noexcept nogil:
        """Key of the bytes ``p[:n]`` (hash ``h``) if at most ``limit``, else 0."""
        cdef uint64_t cap = self._table_cap
        cdef uint64_t idx = zk_mulhi(h, cap)
        cdef uint8_t tag = <uint8_t>h
        cdef uint32_t loc, k
        cdef Py_ssize_t m
        cdef const unsigned char* rec
        cdef const char* b
        cdef const unsigned char* slots = self._slots
        while True:
            loc = zk_slot_key(slots, idx)
            if loc == 0:
                return 0
            if zk_slot_tag(slots, idx) == tag:
                # The slot leads straight to the record: key, length and
                # bytes share its cache line, so a hit costs one miss here.
                rec = self._record(loc)
                b = zk_rec_bytes(rec, &m)
                if m == n and zk_equal(b, p, n):
                    k = zk_rec_key(rec)
                    # A string is in the table once: if its key is staged
                    # (above limit) it is not visible yet.
                    return k if k <= limit else 0
            idx += 1
            if idx == cap:
                idx = 0

    cdef inline uint32_t _store(self, const char* p, Py_ssize_t n, uint64_t h) noexcept nogil:
        """Write a new record as key ``_staged + 1`` (room reserved, lock held)."""
        cdef uint64_t k = self._staged + 1
        cdef uint64_t pos = self._chunk_used
        cdef uint32_t loc = <uint32_t>((self._vchunk << 16) | (pos >> 2))
        self._chunk_used = pos + zk_rec_write(self._chunks[self._vchunk] + pos, <uint32_t>k, p, n)
        self._pages[k >> PAGE_SHIFT][k & PAGE_MASK] = loc
        cdef uint64_t cap = self._table_cap
        cdef uint64_t idx = zk_mulhi(h, cap)
        while zk_slot_key(self._slots, idx) != 0:
            idx += 1
            if idx == cap:
                idx = 0
        zk_slot_set(self._slots, idx, loc, <uint8_t>h)
        self._staged = k
        return <uint32_t>k

    cdef void _unstage(self, uint64_t count, _Mark* mark) noexcept:
        """Remove keys above ``count`` (a failed batch). Allocates nothing."""
        cdef uint64_t k, idx, cap = self._table_cap
        cdef const char* p
        cdef Py_ssize_t n
        cdef uint32_t loc
        cdef unsigned char* slots = self._slots
        k = self._staged
        while k > count:
            loc = self._pages[k >> PAGE_SHIFT][k & PAGE_MASK]
            p = zk_rec_bytes(self._record(loc), &n)
            idx = zk_mulhi(zk_hash(p, n, self._seed), cap)
            while zk_slot_key(slots, idx) != loc:
                idx += 1
                if idx == cap:
                    idx = 0
            # Clearing the slot is an exact undo: the table only ever holds
            # keys inserted in increasing order (stores, and rehashes in key
            # order), and no key after k probed past k's slot when k was
            # inserted as the newest; so removing newest-first restores the
            # table as it was, with no probe run broken.
            zk_slot_set(slots, idx, 0, 0)
            k -= 1
        self._staged = count
        if len(self._chunk_arrays) > mark.narrays:
            del self._chunk_arrays[mark.narrays:]
        self._vchunk = mark.vchunk
        self._span = mark.span
        self._chunk_size = mark.chunk_size
        self._chunk_used = mark.chunk_used
        self._arena_bytes = mark.arena_bytes

    cdef inline void _mark(self, _Mark* mark) noexcept:
        mark.narrays = len(self._chunk_arrays)
        mark.vchunk = self._vchunk
        mark.span = self._span
        mark.chunk_size = self._chunk_size
        mark.chunk_used = self._chunk_used
        mark.arena_bytes = self._arena_bytes

    cdef int _acquire(self) except -1:
        cdef long me = PyThread_get_thread_ident()
        if self._busy and self._owner == me:
            # Only a finalizer run by an allocation inside a write can get
            # here (no caller code runs under the lock); waiting would hang.
            raise InternerError(f"{self._name()}: re-entrant write from the thread already writing")
        if not PyThread_acquire_lock(self._lock, NOWAIT_LOCK):
            with nogil:
                PyThread_acquire_lock(self._lock, WAIT_LOCK)
        self._busy = True
        self._owner = me
        return 0

    cdef inline void _release(self) noexcept:
        self._busy = False
        PyThread_release_lock(self._lock)

    # -- errors --------------------------------------------------------------

    cdef _type_error(self, s):
        return InternerTypeError(f"{self._name()}: expected str, got {type(s).__name__} {s!r:.80}")

    cdef _encoding_error(self, s):
        try:
            str.encode(s, "utf-8")  # not s.encode: a subclass may override it
        except UnicodeEncodeError as e:
            reason = e.reason
        else:
            reason = "unknown"
        return InternerEncodingError(
            f"{self._name()}: string {s!r:.80} cannot be encoded as UTF-8 ({reason})"
        )

    cdef _full_error(self, s):
        return InternerFullError(
            f"{self._name()}: all {self._max_keys} keys are taken; cannot intern {s!r:.80}"
        )

    cdef _build_error(self, _Deferred d):
        if d.kind == _TYPE:
            return self._type_error(d.obj)
        if d.kind == _ENCODING:
            return self._encoding_error(d.obj)
        return self._full_error(d.obj)

    cdef inline const char* _utf8(self, s, Py_ssize_t* n, bint locked) except NULL:
        """UTF-8 of ``s`` (a str): borrowed, no copy for ASCII."""
        cdef const char* p
        if _is_compact_ascii(s):  # the common case, without a call
            n[0] = _str_length(s)
            return <const char*>_str_data(s)
        p = _utf8_and_size(s, n)
        if p == NULL:
            if PyErr_ExceptionMatches(UnicodeEncodeError):
                PyErr_Clear()
                if locked:
                    raise _Deferred(_ENCODING, s)
                raise self._encoding_error(s)
            return NULL  # another error (MemoryError) is already set
        return p

    # -- lookups -------------------------------------------------------------

    def __len__(self):
        return self._count

    def __contains__(self, s):
        cdef Py_ssize_t n
        if not PyUnicode_Check(s):
            return False
        cdef const char* p = _utf8_and_size(s, &n)
        if p == NULL:
            PyErr_Clear()  # a lone surrogate cannot have been interned
            return False
        return self._find(p, n, zk_hash(p, n, self._seed), self._count) != 0

    def get(self, s):
        """Key of ``s`` if interned, else None. Never inserts."""
        cdef Py_ssize_t n
        if not PyUnicode_Check(s):
            raise self._type_error(s)
        cdef const char* p = _utf8_and_size(s, &n)
        if p == NULL:
            PyErr_Clear()
            return None
        cdef uint32_t k = self._find(p, n, zk_hash(p, n, self._seed), self._count)
        return k if k else None

    cdef inline str _decode(self, uint64_t k):
        cdef Py_ssize_t n
        cdef const char* p = self._bytes_of(k, &n)
        return PyUnicode_DecodeUTF8(p, n, NULL)

    cdef inline uint64_t _key_of(self, key) except 0:
        """Validate a key object; returns it as a C integer."""
        cdef int overflow = 0
        cdef long long v
        if not PyLong_CheckExact(key):
            try:
                key = PyNumber_Index(key)
            except TypeError:
                raise InternerTypeError(
                    f"{self._name()}: key must be an int, got {type(key).__name__} {key!r:.80}"
                ) from None
        v = PyLong_AsLongLongAndOverflow(key, &overflow)
        if overflow or v < 1 or <uint64_t>v > self._count:
            raise UnknownKeyError(f"{self._name()}: unknown key {key}")
        return <uint64_t>v

    def resolve(self, key):
        """The string of ``key``; ``UnknownKeyError`` (a ``KeyError``) if none."""
        return self._decode(self._key_of(key))

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def resolve_many(self, keys):
        """Strings of ``keys`` (ints, or a uint32 array), in order."""
        cdef list out = []
        cdef const uint32_t[:] view
        cdef Py_ssize_t i, n, size
        cdef uint64_t k
        if isinstance(keys, np.ndarray):
            if keys.ndim == 1 and keys.dtype == np.uint32:
                view = keys
                size = view.shape[0]
                out = [None] * size
                for i in range(size):
                    # Prefetch: the entry of key i+2D, the record of key i+D.
                    if i + 2 * LOOKAHEAD < size:
                        k = view[i + 2 * LOOKAHEAD]
                        if 0 < k <= self._count:
                            zk_prefetch(self._pages[k >> PAGE_SHIFT] + (k & PAGE_MASK))
                    if i + LOOKAHEAD < size:
                        k = view[i + LOOKAHEAD]
                        if 0 < k <= self._count:
                            zk_prefetch(self._bytes_of(k, &n))
                    k = view[i]
                    if k == 0 or k > self._count:
                        raise UnknownKeyError(f"{self._name()}: unknown key {k}")
                    out[i] = self._decode(k)
                return out
            keys = keys.tolist()
        try:
            it = iter(keys)
        except TypeError:
            raise InternerTypeError(
                f"{self._name()}: resolve_many expects an iterable of keys, got {type(keys).__name__}"
            ) from None
        for key in it:
            out.append(self._decode(self._key_of(key)))
        return out

    # -- inserts -------------------------------------------------------------

    def get_or_intern(self, s):
        """Key of ``s``, interning it first if new."""
        return self._get_or_intern(s)

    def get_or_intern_static(self, s):
        """Same as ``get_or_intern``; for strings known at import time."""
        return self._get_or_intern(s)

    cdef inline uint32_t _get_or_intern(self, s) except 0:
        cdef Py_ssize_t n
        if not PyUnicode_Check(s):
            raise self._type_error(s)
        cdef const char* p = self._utf8(s, &n, False)
        cdef uint64_t h = zk_hash(p, n, self._seed)
        cdef uint32_t k = self._find(p, n, h, self._count)
        if k:
            return k
        if not self._busy and self._count < self._max_keys and self._has_room(n):
            # No writer is mid-way and nothing needs allocating, so from the
            # find above to the publish below this is C code only: under
            # the GIL no other thread can interleave, the lock is not needed.
            k = self._store(p, n, h)
            self._count = k
            return k
        return self._insert(s, p, n, h)

    cdef uint32_t _insert(self, s, const char* p, Py_ssize_t n, uint64_t h) except 0:
        cdef uint32_t k = 0
        self._acquire()
        try:
            # Another thread may have interned s while we waited.
            k = self._find(p, n, h, self._count)
            if k == 0 and self._count < self._max_keys:
                if not self._has_room(n):
                    self._reserve(n)
                k = self._store(p, n, h)
                self._count = k
        finally:
            self._release()
        if k == 0:  # built outside the lock: the message runs repr(s)
            raise self._full_error(s)
        return k

    def intern_many(self, strings):
        """Keys of all ``strings`` as a ``uint32`` array; all-or-nothing.

        ``strings`` is any iterable of ``str`` (not a bare ``str``). On any
        error no string of the batch stays interned. Cost: one hash and
        probe per item, no Python object per item.
        """
        if isinstance(strings, str):
            raise InternerTypeError(
                f"{self._name()}: intern_many expects an iterable of str, got a str {strings!r:.80}"
            )
        if type(strings) is not list and type(strings) is not tuple:
            try:
                it = iter(strings)
            except TypeError:
                raise InternerTypeError(
                    f"{self._name()}: intern_many expects an iterable of str, got {type(strings).__name__}"
                ) from None
            # Materialize first: no caller code may run while the lock is held.
            strings = list(it)
        cdef bint is_list = type(strings) is list
        cdef Py_ssize_t size = PyList_GET_SIZE(strings) if is_list else PyTuple_GET_SIZE(strings)
        keys = np.empty(size, dtype=np.uint32)
        cdef uint32_t* out = <uint32_t*>cnp.PyArray_DATA(keys)
        cdef _Deferred failed = None
        self._acquire()
        try:
            self._intern_batch(strings, is_list, size, out)
        except _Deferred as d:
            failed = d
        finally:
            self._release()
        if failed is not None:
            raise self._build_error(failed) from None
        return keys

    cdef inline void _stage_hash(self, seq, bint is_list, Py_ssize_t j, _Ring* r) noexcept:
        """Pipeline stage: UTF-8 and hash of item ``j``; prefetch its home slot."""
        cdef PyObject* o = _borrow(seq, is_list, j)
        cdef Py_ssize_t m = j & RING_MASK
        cdef Py_ssize_t n
        cdef const char* p
        r.valid[m] = False
        if o == NULL or not _is_str(o):
            return
        p = _utf8_borrowed(o, &n)
        if p == NULL:
            PyErr_Clear()  # the main stage redoes it and raises in order
            return
        r.p[m] = p
        r.n[m] = n
        r.h[m] = zk_hash(p, n, self._seed)
        r.valid[m] = True
        zk_prefetch(self._slots + 5 * zk_mulhi(r.h[m], self._table_cap))

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int _intern_batch(self, seq, bint is_list, Py_ssize_t size, uint32_t* out) except -1:
        # Software-pipelined: every item costs a few dependent cache misses
        # (string object, table slot, record), so while item i is looked up,
        # items i+D.. are already being prefetched. Prefetches are hints
        # only; the lookup itself always reads the current state.
        cdef uint64_t count = self._count
        cdef _Mark mark
        self._mark(&mark)
        cdef Py_ssize_t t, i, j, m, n
        cdef const char* p
        cdef uint64_t h, idx
        cdef uint32_t k, loc
        cdef PyObject* o
        cdef object s
        cdef _Ring r
        try:
            for t in range(size + 3 * LOOKAHEAD):
                if t < size:  # stage A: the string object
                    o = _borrow(seq, is_list, t)
                    if o != NULL:
                        zk_prefetch(o)
                j = t - LOOKAHEAD
                if 0 <= j < size:  # stage B: hash, prefetch slot
                    self._stage_hash(seq, is_list, j, &r)
                j = t - 2 * LOOKAHEAD
                if 0 <= j < size:  # stage C: read slot, prefetch record
                    m = j & RING_MASK
                    if r.valid[m]:
                        idx = zk_mulhi(r.h[m], self._table_cap)
                        loc = zk_slot_key(self._slots, idx)
                        if loc != 0 and zk_slot_tag(self._slots, idx) == <uint8_t>r.h[m]:
                            zk_prefetch(self._record(loc))
                i = t - 3 * LOOKAHEAD
                if i < 0:
                    continue
                o = _borrow(seq, is_list, i)
                if o == NULL:
                    raise RuntimeError(f"{self._name()}: list changed size during intern_many")
                s = <object>o  # a strong reference: _reserve may run other threads
                m = i & RING_MASK
                if r.valid[m]:
                    p = r.p[m]
                    n = r.n[m]
                    h = r.h[m]
                else:
                    if not PyUnicode_Check(s):
                        raise _Deferred(_TYPE, s)
                    p = self._utf8(s, &n, True)
                    h = zk_hash(p, n, self._seed)
                k = self._find(p, n, h, self._staged)
                if k == 0:
                    if self._staged >= self._max_keys:
                        raise _Deferred(_FULL, s)
                    if not self._has_room(n):
                        self._reserve(n)
                        # Python code may have run: redo what stage B already
                        # computed for later items from the current list.
                        for j in range(i + 1, min(t - LOOKAHEAD + 1, size)):
                            self._stage_hash(seq, is_list, j, &r)
                    k = self._store(p, n, h)
                out[i] = k
        except BaseException:
            self._unstage(count, &mark)
            raise
        self._count = self._staged  # publish the whole batch at once
        return 0

    # -- persistence ---------------------------------------------------------

    def _export(self):
        """``(lengths, data)``: per-key UTF-8 lengths and all bytes in key order."""
        cdef uint64_t k, count = self._count
        cdef Py_ssize_t n, total = 0
        lengths = np.empty(count, dtype=np.uint32)
        cdef uint32_t* lp = <uint32_t*>cnp.PyArray_DATA(lengths)
        for k in range(1, count + 1):
            self._bytes_of(k, &n)
            lp[k - 1] = <uint32_t>n
            total += n
        data = PyBytes_FromStringAndSize(NULL, total)
        cdef char* dst = PyBytes_AS_STRING(data)
        cdef const char* p
        for k in range(1, count + 1):
            p = self._bytes_of(k, &n)
            memcpy(dst, p, n)
            dst += n
        return lengths, data

    def save(self, path):
        """Write the documented format atomically (temp file, fsync, rename)."""
        self._acquire()
        try:
            lengths, data = self._export()
        finally:
            self._release()
        _interner_file.write(path, self._id, self._max_keys, lengths, data)

    @classmethod
    def load(cls, path):
        """Read a file written by ``save`` of either implementation."""
        iid, max_keys, lengths, data = _interner_file.read(path)
        cdef Interner self = cls(len(lengths), max_keys=max_keys)
        self._id = iid
        cdef const uint32_t[:] lens = lengths
        cdef const char* base = PyBytes_AS_STRING(data)
        cdef const char* p
        cdef Py_ssize_t i, n, pos = 0
        cdef uint64_t h
        for i in range(lens.shape[0]):
            n = lens[i]
            p = base + pos
            pos += n
            try:
                s = PyUnicode_DecodeUTF8(p, n, NULL)  # validates; strict like the pure kernel
            except UnicodeDecodeError:
                raise InternerFileError(f"interner file {str(path)!r} holds invalid UTF-8") from None
            h = zk_hash(p, n, self._seed)
            if self._find(p, n, h, self._staged):
                raise InternerFileError(f"interner file {str(path)!r} holds {s!r:.80} twice")
            if not self._has_room(n):
                self._reserve(n)
            self._store(p, n, h)
        self._count = self._staged
        return self

    # -- accounting ----------------------------------------------------------

    def memory_usage(self):
        """Bytes held: arena chunks, entry pages, lookup table (+ C pointer arrays)."""
        arena = self._arena_bytes
        entries = sum([a.nbytes for a in self._page_arrays])
        index = self._slots_array.nbytes
        pointers = (self._pages_cap + self._chunks_cap) * sizeof(void*)
        return {
            "strings": self._count,
            "arena_bytes": arena,
            "arena_used_bytes": arena - (self._chunk_size - self._chunk_used),
            "entry_bytes": entries,
            "index_bytes": index,
            "total_bytes": arena + entries + index + pointers,
        }
