"""The ``zako`` command (also ``python -m zako``).

``main(argv)`` returns the exit status instead of exiting, so tests can run
the whole command in-process: 0 success, 1 the project has errors (each
printed as ``file:line: error[kind]: message``), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys

from . import __version__
from ._impl import IMPLEMENTATION
from .exceptions import ZakoError

__all__ = ["main", "build_parser", "CacheDirError"]

_EPILOG = """\
examples:
  zako load examples/monorepo              load a tree, print a summary
  zako load . --json > graph.json          the target graph as JSON
  zako load . --keep-going                 report every error, not just the first
  zako load . --jobs 4 --no-cache          evaluate everything, 4 V8 workers
  zako load . --remote-cache http://cache:8080/zako
                                           share results through a Bazel HTTP cache
  zako cache stats                         what the local cache holds
  zako cache clear                         empty it
"""


class CacheDirError(ZakoError, ValueError):
    """The cache directory, or its ``cas/`` or ``ac/`` part, exists and is
    not a directory (or cannot be created below a file). Names the path."""


def _show(path: str) -> str:
    from .project.errors import show_path

    return show_path(path)


def _check_cache_dir(root: str) -> None:
    """Raise ``CacheDirError`` before anything writes under ``root``: the
    store would otherwise fail deep inside with a bare ``OSError``."""
    probe = root
    while not os.path.lexists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            return
        probe = parent
    if not os.path.isdir(probe):
        if probe == root:
            raise CacheDirError(f"cache directory {root!r} is not a directory")
        raise CacheDirError(f"cache directory {root!r} cannot be created: {probe!r} is not a directory")
    if probe == root:
        for part in _CACHE_PARTS:
            path = os.path.join(root, part)
            if os.path.lexists(path) and not os.path.isdir(path):
                raise CacheDirError(f"cache directory {root!r} is unusable: {path!r} is not a directory")


def _version_text() -> str:
    return f"zako {__version__} ({IMPLEMENTATION} kernels)"


def _cmd_version(args: argparse.Namespace) -> int:
    print(_version_text())
    return 0


def _config_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _cmd_information(args: argparse.Namespace) -> int:
    from .information import information, format_information

    info = information(_cache_dir(args))
    print(json.dumps(info, indent=2) if args.json else format_information(info))
    return 0


def _cmd_completion(args: argparse.Namespace) -> int:
    from .completion import completion_script

    sys.stdout.write(completion_script(build_parser(), args.shell))
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _setup_logging(verbosity: int) -> None:
    level = {-1: logging.ERROR, 0: logging.WARNING}.get(verbosity, logging.INFO)
    # Scripts' own log lines: debug with -v, trace (below DEBUG) with -vv.
    script_level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.DEBUG}.get(verbosity, 5)
    logging.getLogger("zako.js").setLevel(script_level)
    logger = logging.getLogger("zako")
    if not any(getattr(h, "_zako_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        from .cas.redact import RedactingFormatter

        # Every line, traceback included, passes the credential scrubber.
        handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
        handler._zako_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    for h in logger.handlers:
        if getattr(h, "_zako_cli", False) and h.stream is not sys.stderr:
            # main() run again in one process (tests): today's stderr; not
            # setStream, which flushes the old one (perhaps closed by now)
            h.stream = sys.stderr
    logger.setLevel(level)


def _cmd_load(args: argparse.Namespace) -> int:
    from .global_state import GlobalState
    from .project.errors import LoadFailed
    from .project.load import peak_rss_bytes
    from .project.progress import LoadProgress
    from .project.report import format_problems, format_summary, write_json, write_stats_json

    verbosity = -1 if args.quiet else min(args.verbose or 0, 2)
    _setup_logging(verbosity)
    root = args.dir
    if not os.path.isdir(root):
        print(f"zako load: {root!r} is not a directory", file=sys.stderr)
        return 2
    try:
        if not args.timeout > 0:
            raise ValueError(f"--timeout must be > 0, got {args.timeout}")
        if not args.remote_timeout > 0 or not args.remote_flush_timeout >= 0:
            raise ValueError("--remote-timeout must be > 0 and --remote-flush-timeout >= 0, got "
                             f"{args.remote_timeout} and {args.remote_flush_timeout}")
        _check_cache_dir(_cache_dir(args))
        for flag, out in (("--trace", args.trace), ("--stats-json", args.stats_json)):
            where = os.path.dirname(os.path.abspath(out)) if out else ""
            if out and not os.path.isdir(where):
                raise ValueError(f"{flag} {out!r}: directory {where!r} does not exist")
        remote_options = _remote_options(args)
        state = GlobalState(cache_dir=args.cache_dir, remote_cache=args.remote_cache, jobs=args.jobs,
                            timeout_s=args.timeout, remote_timeout_s=args.remote_timeout,
                            remote_flush_timeout_s=args.remote_flush_timeout, isolation=args.isolation,
                            **remote_options)
    except ValueError as e:
        from .cas.redact import redact_text

        print(f"zako load: {redact_text(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # an unwritable cache directory, most likely: one line, not a traceback
        where = f"{e.filename!r}: " if e.filename else ""
        print(f"zako load: cannot start: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    with state:
        bar = None
        progress = None
        if not args.quiet:
            bar = LoadProgress(state, stream=sys.stderr)
            progress = bar.update if bar.enabled else None
        try:
            with _trace_recording(args.trace, state):
                result = state.load(root, keep_going=args.keep_going, use_cache=not args.no_cache, progress=progress,
                                    config=dict(args.config or ()))
        except LoadFailed as failed:
            if bar:
                bar.close()
            print(format_problems(failed.problems), file=sys.stderr)
            if args.json:
                print(json.dumps({"errors": [p.to_json() for p in failed.problems]}, indent=2))
            return 1
        if bar:
            bar.close()
        if args.stats_json:
            write_stats_json(args.stats_json, result, state)
        if args.json:
            write_json(result, state.interner, sys.stdout)
        elif not args.quiet:
            # The process's peak so far, not the load's: reading it last
            # counts everything the command held before printing.
            result.stats["peak_rss_bytes"] = peak_rss_bytes()
            print(format_summary(result, verbose=args.verbose))
        if args.verbose and not args.json:
            report = state.memory_report()
            print(f"  process RSS   {report['process']['rss_bytes']} bytes now")
        if result.problems:
            print(format_problems(result.problems), file=sys.stderr)
            print(f"zako load: {len(result.problems)} error(s)", file=sys.stderr)
            return 1
    return 0


def _remote_options(args: argparse.Namespace) -> dict:
    """GlobalState's credential and TLS arguments from the ``--remote-*`` flags;
    ``ValueError`` (one line, no secret) for ones that cannot be used."""
    from .cas.credentials import parse_remote_headers
    from .cas.redact import register_url_secrets

    if args.remote_cache:
        register_url_secrets(args.remote_cache)
    tls = {"remote_ca": args.remote_ca, "remote_client_cert": args.remote_client_cert,
           "remote_client_key": args.remote_client_key}
    given = [f"--{k.replace('_', '-')}" for k, v in tls.items() if v] + (["--remote-header"] if args.remote_header else [])
    if given and not args.remote_cache:
        raise ValueError(f"{' '.join(given)} given without --remote-cache")
    return {"remote_headers": parse_remote_headers(args.remote_header), **tls}


def _trace_recording(path: str | None, state):
    """The ``--trace`` recording around a load (a no-op context without it)."""
    import contextlib

    if not path:
        return contextlib.nullcontext()
    from . import trace

    return trace.recording(path, pools={"v8": state.v8_pool.stats, "transpiler": state.transpiler_pool.stats})


def _dir_size(path: str) -> tuple[int, int]:
    files = size = 0
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            try:
                size += os.lstat(os.path.join(dirpath, name)).st_size
                files += 1
            except OSError:
                pass
    return files, size


def _cache_dir(args: argparse.Namespace) -> str:
    from .global_state import default_cache_dir

    return os.path.abspath(args.cache_dir) if args.cache_dir else default_cache_dir()


_CACHE_PARTS = ("cas", "ac")


def _cmd_cache_stats(args: argparse.Namespace) -> int:
    from .project.report import format_bytes

    root = _cache_dir(args)
    try:
        _check_cache_dir(root)
    except CacheDirError as e:
        print(f"zako cache stats: {e}", file=sys.stderr)
        return 2
    stats = {"cache_dir": root}
    for part in _CACHE_PARTS:
        files, size = _dir_size(os.path.join(root, part))
        stats[part] = {"entries": files, "bytes": size}
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(f"cache dir     {_show(root)}")
        print(f"  blobs       {stats['cas']['entries']} ({format_bytes(stats['cas']['bytes'])})")
        print(f"  results     {stats['ac']['entries']} ({format_bytes(stats['ac']['bytes'])})")
    return 0


def _cmd_cache_clear(args: argparse.Namespace) -> int:
    root = _cache_dir(args)
    try:
        _check_cache_dir(root)
    except CacheDirError as e:
        print(f"zako cache clear: {e}", file=sys.stderr)
        return 2
    removed = 0
    # Only the parts zako writes: a mistaken --cache-dir must not wipe a user's files.
    for part in _CACHE_PARTS:
        path = os.path.join(root, part)
        if os.path.isdir(path):
            removed += _dir_size(path)[0]
            shutil.rmtree(path)
    print(f"removed {removed} cache entries from {_show(root)}")
    return 0


def _add_cache_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="cache directory (default: $ZAKO_CACHE_DIR, $XDG_CACHE_HOME/zako or ~/.cache/zako)",
    )


class _Parser(argparse.ArgumentParser):
    """argparse echoes arguments in its errors ("unrecognized arguments:
    ..."), a mistyped flag's URL included: scrub what it prints."""

    def _print_message(self, message, file=None):
        from .cas.redact import redact_text

        super()._print_message(redact_text(message) if message else message, file)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="zako",
        # `zako @args.txt`: one argument per line, as the original Zako reads argfiles.
        fromfile_prefix_chars="@",
        description="Load a tree of JavaScript/TypeScript build scripts in pooled V8, in bounded memory.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version_text())
    parser.add_argument("-C", dest="chdir", metavar="DIR", help="run as if zako was started in DIR")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("version", help="print the version and which kernels are loaded")
    p.set_defaults(func=_cmd_version)

    p = sub.add_parser("information", help="versions (zako, V8, Python), kernels in use, limits, cache location")
    _add_cache_dir(p)
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=_cmd_information)

    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)",
                       description="Print a completion script for SHELL, made from this command's own options. "
                                   "bash: eval \"$(zako completion bash)\"; zsh: the same in .zshrc; "
                                   "fish: zako completion fish | source")
    p.add_argument("shell", metavar="SHELL", choices=("bash", "zsh", "fish"), help="bash, zsh or fish")
    p.set_defaults(func=_cmd_completion)

    p = sub.add_parser(
        "load",
        help="evaluate every build file of a project and print its target graph",
        description="Discover packages under DIR, evaluate the package script and every BUILD.ts/BUILD.js "
        "in V8, expand globs, resolve labels and check every dep.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", metavar="DIR", help="project root (holds zako.toml or zako.json)")
    p.add_argument("--json", action="store_true", help="print the target graph as JSON on stdout")
    p.add_argument("--config", metavar="NAME=VALUE", action="append", type=_config_pair,
                   help="override a config value the manifest declares (typed as declared; repeatable)")
    p.add_argument("--keep-going", "-k", action="store_true", help="report every error instead of stopping at the first")
    p.add_argument("--no-cache", action="store_true", help="evaluate everything; neither read nor write the cache")
    _add_cache_dir(p)
    p.add_argument("--remote-cache", metavar="URL",
                   help="Bazel HTTP remote cache to share results through: http(s)://[user:password@]host[:port]/path "
                        "(without user:password, ~/.netrc or $NETRC is read)")
    p.add_argument("--remote-header", action="append", default=[], metavar="NAME=VALUE",
                   help="header sent with every remote cache request (repeatable), e.g. "
                        "'Authorization=Bearer ...'; NAME=@env:VAR takes the value from $VAR")
    p.add_argument("--remote-ca", metavar="FILE", help="PEM CA to trust for an https remote cache instead of the "
                                                        "system store")
    p.add_argument("--remote-client-cert", metavar="FILE", help="PEM client certificate for mutual TLS "
                                                                "(may hold the key too)")
    p.add_argument("--remote-client-key", metavar="FILE", help="PEM private key of --remote-client-cert")
    p.add_argument("--remote-timeout", type=float, default=2.0, metavar="SECONDS",
                   help="total deadline of one remote cache request: connect, headers and body "
                        "(default 2; large blobs get 1 s more per MiB). After 3 failures in a row "
                        "the remote is off for the rest of the load")
    p.add_argument("--remote-flush-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="how long the end of a load waits for queued uploads (default 10)")
    p.add_argument("--jobs", "-j", type=_positive_int, metavar="N", help="V8 workers (default: cpu count)")
    p.add_argument("--isolation", choices=("realm", "isolate"), default="realm",
                   help="realm (default): each V8 worker keeps one locked-down context and gives every "
                        "evaluation fresh module instances; isolate: a new V8 isolate per evaluation "
                        "(slower, same results)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="time limit of one script evaluation (default 30)")
    p.add_argument("--trace", metavar="FILE",
                   help="write a Chrome trace-event / Perfetto JSON of the load to FILE "
                        "(open it in ui.perfetto.dev or chrome://tracing)")
    p.add_argument("--stats-json", metavar="FILE",
                   help="write the summary's figures (times, cache, memory, interner, V8 heap) as JSON "
                        "to FILE; schema in docs/cli.md")
    loud = p.add_mutually_exclusive_group()
    loud.add_argument("--verbose", "-v", action="count", default=0,
                      help="more detail and scripts' debug output; -vv their trace output too")
    loud.add_argument("--quiet", "-q", action="store_true", help="errors only")
    p.set_defaults(func=_cmd_load)

    p = sub.add_parser("cache", help="inspect or clear the local cache")
    csub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    s = csub.add_parser("stats", help="entries and bytes in the cache")
    _add_cache_dir(s)
    s.add_argument("--json", action="store_true", help="print as JSON")
    s.set_defaults(func=_cmd_cache_stats)
    s = csub.add_parser("clear", help="delete the cached blobs and results")
    _add_cache_dir(s)
    s.set_defaults(func=_cmd_cache_clear)
    return parser


def _leading_chdir(argv: list[str]) -> tuple[str | None, list[str]]:
    """``-C DIR`` (or ``-CDIR``) among the options before the command, and
    argv without it: it applies before anything else is read, @argfiles
    included, as "run as if started in DIR" says."""
    for i, arg in enumerate(argv):
        if not arg.startswith("-") or arg == "--":
            break
        if arg == "-C" and i + 1 < len(argv):
            return argv[i + 1], argv[:i] + argv[i + 2:]
        if arg.startswith("-C") and len(arg) > 2:
            return arg[2:], argv[:i] + argv[i + 1:]
    return None, argv


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    chdir, argv = _leading_chdir(list(sys.argv[1:] if argv is None else argv))
    home = None
    if chdir is not None:
        # Every path argument, @argfile and relative cache directory then
        # reads as if typed in DIR, as with git -C and make -C.
        try:
            home = os.getcwd()
            os.chdir(chdir)
        except OSError as e:
            print(f"zako: -C {chdir!r}: {e.strerror or e}", file=sys.stderr)
            return 2
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:  # argparse exits on --help/--version/usage errors
            return int(e.code or 0) if not isinstance(e.code, str) else 2
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return args.func(args)
    except KeyboardInterrupt:
        print("zako: interrupted", file=sys.stderr)
        return 130
    finally:
        if home is not None:
            os.chdir(home)

if __name__ == "__main__":
    sys.exit(main())
