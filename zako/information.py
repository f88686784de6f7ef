"""``zako information``: what this installation is and what it will use.

The figures a bug report needs, read from the running process rather than
restated: versions (zako, Python, mini-racer and the V8 inside it), which
kernel set loaded, the machine's limits as a load would size itself, and
where the cache lives. Cost: one throwaway V8 isolate for its version.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from typing import Any

__all__ = ["information", "format_information"]


def _v8_version() -> str | None:
    try:
        from py_mini_racer import MiniRacer

        return str(MiniRacer().v8_version)
    except Exception:  # noqa: BLE001 - a broken engine is itself the information
        return None


def information(cache_dir: str) -> dict[str, Any]:
    """Everything ``zako information`` prints, as plain data."""
    from . import __version__
    from ._impl import IMPLEMENTATION, KERNEL_NAMES, PURE_REQUESTED
    from .resource import system_capacities
    from .v8.context_type import BUILTIN_NAMES

    try:
        racer = importlib.metadata.version("mini-racer")
    except importlib.metadata.PackageNotFoundError:
        racer = None
    caps = system_capacities()
    # The defaults a load uses, read from where they are defined (no second copy to drift).
    import inspect

    from .global_state import GlobalState

    defaults = {k: v.default for k, v in inspect.signature(GlobalState.__init__).parameters.items()}
    return {
        "zako": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{sys.platform} {platform.machine()}",
        "mini_racer": racer,
        "v8": _v8_version(),
        "kernels": {"implementation": IMPLEMENTATION, "names": list(KERNEL_NAMES),
                    "pure_requested": PURE_REQUESTED},
        "builtins": ["zako:" + n for n in BUILTIN_NAMES],
        "limits": {
            "cpus": caps.get("cpu"),
            "memory_bytes": caps.get("memory"),
            "default_jobs": max(1, os.cpu_count() or 1),
            "v8_heap_limit_bytes": defaults["heap_limit_bytes"],
            "script_timeout_s": defaults["timeout_s"],
        },
        "cache_dir": cache_dir,
    }


def format_information(info: dict[str, Any]) -> str:
    from .project.report import format_bytes

    limits = info["limits"]
    kernels = info["kernels"]
    lines = [
        f"zako          {info['zako']}",
        f"python        {info['python']} ({info['platform']})",
        f"mini-racer    {info['mini_racer'] or 'not installed'}",
        f"V8            {info['v8'] or 'unavailable'}",
        f"kernels       {kernels['implementation']} ({', '.join(kernels['names'])})",
        f"builtins      {', '.join(info['builtins'])}",
        f"cpus          {limits['cpus']} (default --jobs {limits['default_jobs']})",
        f"memory        {format_bytes(limits['memory_bytes'])}",
        f"V8 heap limit {format_bytes(limits['v8_heap_limit_bytes'])} per worker",
        f"timeout       {limits['script_timeout_s']:g} s per script",
        f"cache dir     {info['cache_dir']}",
    ]
    return "\n".join(lines)
