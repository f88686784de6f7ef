"""Content-addressed storage: digests, local store, memory cache, handles, remote cache.

See ``DESIGN.md`` §4. ``CasStore`` is the front most code uses; the
other classes are its parts and can be used alone.
"""

from .blob_handle import BlobHandle
from .blob_range import BlobRange
from .digest import Digest
from .errors import (
    BlobNotFoundError,
    BlobRangeError,
    CasError,
    CorruptBlobError,
    DigestMismatchError,
    InvalidDigestError,
    RangeError,
    RemoteCasError,
    RemoteConfigError,
    RemoteDisabledError,
    RemoteTimeoutError,
)
from .breaker import CacheHealth
from .http import ActionCache, HttpCas
from .local import LocalCas
from .memory_cache import CacheStats, MemoryCache
from .reader import BlobReader
from .store import CasStore
from .uploads import UploadQueue

__all__ = [
    "Digest",
    "BlobRange",
    "LocalCas",
    "MemoryCache",
    "CacheStats",
    "CasStore",
    "BlobHandle",
    "BlobReader",
    "HttpCas",
    "ActionCache",
    "CasError",
    "BlobNotFoundError",
    "RangeError",
    "DigestMismatchError",
    "CorruptBlobError",
    "BlobRangeError",
    "InvalidDigestError",
    "RemoteCasError",
    "RemoteTimeoutError",
    "RemoteDisabledError",
    "RemoteConfigError",
    "CacheHealth",
    "UploadQueue",
]
