"""The ``zako`` command."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from ._impl import IMPLEMENTATION


def _cmd_version(args: argparse.Namespace) -> int:
    print(f"zako {__version__} ({IMPLEMENTATION} kernels)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zako",
        description="Load a tree of JavaScript/TypeScript build scripts in pooled V8, in bounded memory.",
    )
    parser.add_argument("--version", action="version", version=f"zako {__version__} ({IMPLEMENTATION} kernels)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("version", help="print the version and which kernels are loaded")
    p.set_defaults(func=_cmd_version)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
