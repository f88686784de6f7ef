"""zako: the memory-lean core of a build system with JS/TS build files in V8."""

from ._version import __version__
from ._impl import IMPLEMENTATION
from .exceptions import *  # noqa: F401,F403
from .exceptions import __all__ as _exc_all
from .intern import Interner, InternedString, Internable, Resolvable, Uninternable
from .path import InternedAbsolutePath, InternedNeutralPath, NeutralPath
from .resource import ResourceLedger, ResourcePool

__all__ = [
    "__version__",
    "IMPLEMENTATION",
    "Interner",
    "InternedString",
    "Internable",
    "Resolvable",
    "Uninternable",
    "NeutralPath",
    "InternedNeutralPath",
    "InternedAbsolutePath",
    "ResourceLedger",
    "ResourcePool",
    *_exc_all,
]
