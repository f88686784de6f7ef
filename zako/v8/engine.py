"""``Engine``: evaluations in limited, locked-down V8 contexts.

How an evaluation runs (see docs/engine.md for the measured facts behind it):

1. A *realm* is taken: with ``isolation="realm"`` (the default) an idle,
   already locked-down context of this engine, else a new one (see
   ``realm.py``: prelude, engine code, lockdown; ≈5 ms once). With
   ``isolation="isolate"`` every evaluation gets a new realm, closed after.
2. ``__zako_begin`` gives the evaluation fresh state (timers, console,
   host calls, ``executionContext`` from ``inputs``); nothing an earlier
   evaluation made is reachable, since everything shared is frozen.
3. The script runs; a plain script is wrapped, on its first line, in
   ``__zako_start(async function () { ... })`` so top-level ``await`` works
   and line numbers stay the user's.
4. The host loop calls ``__zako_step()`` until the promise settles: each
   step runs at most one due timer (microtasks drain between steps), says
   how long to sleep until the next one, or reports a final state; a pending
   promise with no timer and no host call outstanding is a deadlock at once.
5. The settled value is converted to JSON text inside V8 (a checker refuses
   BigInt, functions, symbols, cycles) and parsed in Python; heap statistics
   are read. A realm whose execution was terminated is closed, never reused.

Every JavaScript step is awaited on one process-wide asyncio loop thread
with a deadline, so a runaway script (busy loop, runaway microtask, huge
conversion) is terminated by mini-racer's task cancellation, and a cancel
token can do the same from any thread. The calling thread only waits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from py_mini_racer import JSEvalException, JSOOMException, JSParseException

from .errors import (
    ConversionError,
    DeadlockError,
    HeapLimitError,
    ScriptCancelledError,
    ScriptTimeoutError,
    V8Error,
)
from .realm import Realm
from .result import ExecutionResult, JSException
from .throw_sites import instrument_throws

__all__ = ["Engine", "DEFAULT_HEAP_LIMIT_BYTES", "DEFAULT_TIMEOUT_S", "WRAPPER_PREFIX", "ISOLATION_MODES"]

DEFAULT_HEAP_LIMIT_BYTES = 256 * 1024 * 1024
DEFAULT_TIMEOUT_S = 30.0
#: Put before a plain script's first line; columns on line 1 are shifted back by its length.
WRAPPER_PREFIX = "__zako_start(async function () {"
_WRAPPER_SUFFIX = "\n});"
#: Console messages one evaluation may buffer between two host steps.
_CONSOLE_MAX = 10_000
#: Extra wall time the calling thread grants the loop before giving up on it.
_GRACE_S = 5.0
#: ``Engine(isolation=...)``: one realm per worker, or a new isolate per evaluation.
ISOLATION_MODES = ("realm", "isolate")
#: A realm is retired after this many evaluations, or when its live heap after
#: an evaluation passes this fraction of the limit: garbage V8 could not free.
_REALM_MAX_EVALUATIONS = 20_000
_REALM_MAX_HEAP_FRACTION = 0.5
#: A realm's heap statistics are read on every this many evaluations, and
#: after any evaluation that took this long. A reading blocks the isolate's
#: thread ~0.8 ms; every 16th cost 0.05 ms an evaluation (~7% of a small
#: build file's). A realm keeps nothing of an evaluation but compiled
#: factories (bounded), so its heap cannot creep far in 64; the hard limit
#: still stops one that grows inside an evaluation.
_STATS_EVERY = 64
_STATS_AFTER_S = 0.025
#: Marks the error of a script body that does not parse on its own (it would
#: otherwise close the wrapper and declare globals of the realm).
_BODY_MARK = "zako-body-check: "

_js_log = logging.getLogger("zako.js")
# Below DEBUG: script trace output, shown by ``zako load -vv``.
TRACE = 5
logging.addLevelName(TRACE, "TRACE")
_LEVELS = {"trace": TRACE, "debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}

# --- the shared event loop ------------------------------------------------------------

_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0


def _event_loop() -> asyncio.AbstractEventLoop:
    """The process-wide loop that drives every context (started on first use).

    One long-lived loop avoids mini-racer's thread per context and its
    "Event loop is closed" noise when V8 answers after a context's own loop
    was stopped. A forked child gets a new loop (threads do not survive fork).
    """
    global _loop, _loop_pid
    loop = _loop
    if loop is not None and _loop_pid == os.getpid():
        return loop
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():
            new_loop = asyncio.new_event_loop()
            thread = threading.Thread(target=new_loop.run_forever, name="zako-v8-loop", daemon=True)
            thread.start()
            _loop, _loop_pid = new_loop, os.getpid()
        return _loop


_local = threading.local()


def _thread_loop() -> asyncio.AbstractEventLoop | None:
    """This thread's own event loop for driving contexts, made on first use;
    None when the thread already runs an asyncio loop (then the shared loop
    drives, and this thread only waits)."""
    try:
        asyncio.get_running_loop()
        return None
    except RuntimeError:
        pass
    loop = getattr(_local, "loop", None)
    if loop is None or loop.is_closed() or getattr(_local, "pid", None) != os.getpid():
        loop = asyncio.new_event_loop()
        _local.loop, _local.pid = loop, os.getpid()
        # Close it with its thread: its realms go with the engines using them.
        # (Not at exit: realms still open are closed then, and need it.)
        weakref.finalize(threading.current_thread(), _close_loop, loop).atexit = False
    return loop


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    if not loop.is_running() and not loop.is_closed():
        try:
            loop.close()
        except Exception:  # at interpreter exit, best effort
            pass


# --- one evaluation -----------------------------------------------------------------------


class _Failure(Exception):
    """Raised inside the driver; carries the V8Error to raise in the caller."""

    def __init__(self, error: V8Error) -> None:
        self.error = error


@dataclass(eq=False)
class _Run:
    specifier: str
    ctx: Any
    deadline: float  # loop.time() based
    timeout_s: float
    heap_limit: int
    column_offset: int
    gc_requested: bool = False
    healthy: bool = True  # false once JS was terminated: do not ask the isolate anything
    ab_peak: int = 0
    expired: bool = False  # the deadline timer fired
    doing: str = "starting"  # what the driver was waiting for, for the timeout message
    read_stats: bool = True
    stats: dict[str, Any] | None = None
    host_functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    # set by the loop once the driver no longer touches the context
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        # A sourceURL ends at whitespace; V8 shows the encoded name in stacks.
        return re.sub(r"\s", lambda m: f"%{ord(m.group()):02X}", self.specifier)
    cancelled: bool = False
    started: float = field(default_factory=time.perf_counter)


class Engine:
    """Evaluates JavaScript in memory- and time-limited, locked-down V8 contexts.

    ``Engine(heap_limit_bytes=256 MiB, timeout_s=30.0, isolation="realm")``.

    ``isolation="realm"`` (the default) keeps a locked-down context (a
    *realm*, one V8 isolate) for many evaluations: each starts with fresh
    state and fresh module instances, and everything shared is frozen, so
    nothing one evaluation does is visible to the next. ``"isolate"`` makes
    a new realm for every evaluation and closes it after (slower; for the
    cautious). Both give the same results. Thread-safe: each concurrent
    caller gets its own realm (realms in different threads run in parallel).

    Limits, and what they raise (each a ``V8Error``; the engine keeps
    serving afterwards, a realm whose execution was terminated is closed):

    - ``timeout_s`` of wall time for the whole evaluation, timers included
      → ``ScriptTimeoutError``;
    - ``heap_limit_bytes`` for the realm's V8 heap, and separately for the
      evaluation's ArrayBuffer / TypedArray memory (which V8's limit does
      not see) → ``HeapLimitError``;
    - a promise that nothing can settle → ``DeadlockError``;
    - a result that is not plain data → ``ConversionError``;
    - a fired cancel token → ``ScriptCancelledError``.
    """

    def __init__(
        self,
        heap_limit_bytes: int = DEFAULT_HEAP_LIMIT_BYTES,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        isolation: str = "realm",
    ) -> None:
        if isinstance(heap_limit_bytes, bool) or not isinstance(heap_limit_bytes, int) or heap_limit_bytes <= 0:
            raise ValueError(f"Engine heap_limit_bytes must be a positive int, got {heap_limit_bytes!r}")
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not timeout_s > 0:
            raise ValueError(f"Engine timeout_s must be a positive number, got {timeout_s!r}")
        if isolation not in ISOLATION_MODES:
            raise ValueError(f"Engine isolation must be one of {', '.join(ISOLATION_MODES)}, got {isolation!r}")
        self.heap_limit_bytes = heap_limit_bytes
        self.timeout_s = float(timeout_s)
        self.isolation = isolation
        self._lock = threading.Lock()
        self._live: set[_Run] = set()
        self._idle: list[Realm] = []
        self._last_heap_stats: dict[str, int] | None = None
        self._evaluations = 0
        self._realms_made = 0
        self._closed = False

    def __repr__(self) -> str:
        return (f"Engine(heap_limit_bytes={self.heap_limit_bytes}, timeout_s={self.timeout_s}, "
                f"isolation={self.isolation!r})")

    # --- public API ---------------------------------------------------------------

    def evaluate(
        self,
        source: str,
        *,
        specifier: str = "zako-memory:main",
        inputs: Mapping[str, Any] | None = None,
        cancel_token: Any = None,
        host_functions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> ExecutionResult:
        """Run ``source`` as the body of an async function; its ``return`` is the value.

        ``inputs`` (a JSON-able mapping) is ``globalThis.executionContext``
        (``{}`` when None). Stack frames read ``specifier:line:column`` with
        the lines of ``source``. ``cancel_token``: any object with
        ``.cancelled`` and ``add_callback(fn)`` (plus ``remove_callback(fn)``
        or a removable return value); firing it terminates the script.
        ``host_functions``: ``{name: fn}``; each becomes a global async JS
        function: ``await name(...args)`` runs ``fn(*args)`` in a worker
        thread (JSON-able arguments and result; an exception rejects the
        promise with an ``Error`` named after its class).

        Returns an ``ExecutionResult`` with ``.value`` or ``.exception`` (a
        ``JSException`` for any thrown value and for syntax errors). Raises
        the ``V8Error`` subclasses listed on the class, ``TypeError`` for a
        non-str source or non-JSON-able inputs. Cost in a live realm: two
        round trips into V8 (≈0.5 ms) plus the script's own time; a new
        realm (the first evaluation, or every one with ``isolation=
        "isolate"``) adds ≈10–20 ms of isolate creation and lockdown.
        """
        if not isinstance(source, str):
            raise TypeError(f"Engine.evaluate source must be str, got {type(source).__name__}")
        instrumented, columns = instrument_throws(source)
        hosts = _host_functions(host_functions, specifier)
        # The body must parse on its own before it runs inside the wrapper:
        # text like "}); let x = 1; (function () {" would otherwise close the
        # wrapper and declare a binding that outlives the evaluation.
        prefix = (f"__zako_check_body({json.dumps(instrumented)});"
                  f"__zako_start(async function ({','.join(sorted(hosts))}) {{")
        script = f"{prefix}{instrumented}{_WRAPPER_SUFFIX}"
        result = self._run(
            script,
            specifier=specifier,
            inputs=inputs,
            cancel_token=cancel_token,
            column_offset=len(prefix),
            host_functions=hosts,
        )
        exc = result.exception
        if exc is not None and columns:
            exc.stack = columns.fix_stack(exc.stack, specifier)
            if exc.line is not None and exc.column is not None:
                exc.column = columns.original_column(exc.line, exc.column)
        return result

    def execute_module(
        self,
        specifier: Any,
        *,
        context_type: Any,
        loader: Any,
        inputs: Mapping[str, Any] | None = None,
        cancel_token: Any = None,
    ) -> ExecutionResult:
        """Run an ES module; the value is its namespace as a dict (``"default"``
        for the default export) and ``declarations`` what ``zako:`` builtins
        recorded. Delegates to ``zako.v8.module_runner.execute_module``."""
        from .module_runner import execute_module

        return execute_module(
            self, specifier, context_type=context_type, loader=loader, inputs=inputs, cancel_token=cancel_token
        )

    def heap_stats(self) -> dict[str, int] | None:
        """V8 heap statistics at the end of the last evaluation that could be
        asked (``used_heap_size``, ``total_heap_size``, ``heap_size_limit``...),
        or None before the first."""
        stats = self._last_heap_stats
        return dict(stats) if stats is not None else None

    @property
    def evaluations(self) -> int:
        """How many evaluations this engine has started."""
        return self._evaluations

    @property
    def live_contexts(self) -> int:
        """Contexts currently running an evaluation."""
        with self._lock:
            return len(self._live)

    @property
    def idle_realms(self) -> int:
        """Locked-down contexts kept for the next evaluations (realm mode)."""
        with self._lock:
            return len(self._idle)

    @property
    def realms_made(self) -> int:
        """How many contexts (V8 isolates) this engine has created."""
        return self._realms_made

    def gc(self) -> int:
        """Ask V8 to free memory (low-memory notification) in every context.

        Idle realms are collected at once (in the calling thread); running
        evaluations honour the request at their next idle point (waiting
        for a timer), so this never blocks on a running script. Returns
        how many contexts were asked.
        """
        with self._lock:
            runs = list(self._live)
            idle, self._idle = self._idle, []
        for run in runs:
            run.gc_requested = True
        kept = []
        for realm in idle:
            try:
                realm.racer.low_memory_notification()
                kept.append(realm)
            except Exception:  # a context that cannot collect is not worth keeping
                realm.close()
        with self._lock:
            if self._closed:
                leftover, kept = kept, []
            self._idle.extend(kept)
        if self._closed:
            for realm in leftover:
                realm.close()
        return len(runs) + len(idle)

    def close(self) -> None:
        """Refuse further evaluations and close idle realms. Running ones
        finish normally (their realm is closed when they end)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for realm in idle:
            realm.close()

    # --- realms ---------------------------------------------------------------------

    def _take_realm(self, extras: list[str], loop: asyncio.AbstractEventLoop) -> Realm:
        key = tuple(extras)
        if self.isolation == "realm":
            with self._lock:
                for i in range(len(self._idle) - 1, -1, -1):
                    r = self._idle[i]
                    if r.extras_key == key and r.loop is loop:
                        return self._idle.pop(i)
        realm = Realm.create(loop, heap_limit_bytes=self.heap_limit_bytes, console_max=_CONSOLE_MAX, extras=extras)
        with self._lock:
            self._realms_made += 1
        return realm

    def _give_back(self, realm: Realm, run: "_Run") -> None:
        """Keep a realm for the next evaluation, or close it."""
        realm.evaluations += 1
        realm.in_use = False
        keep = (
            self.isolation == "realm"
            and run.healthy
            and run.finished.is_set()
            and realm.evaluations < _REALM_MAX_EVALUATIONS
        )
        if keep and run.stats:
            used = int(run.stats.get("used_heap_size", 0) or 0)
            keep = used < self.heap_limit_bytes * _REALM_MAX_HEAP_FRACTION
        if keep:
            with self._lock:
                if not self._closed:
                    self._idle.append(realm)
                    return
        realm.close()

    # --- internal hook for module execution -----------------------------------------

    def _run(
        self,
        script: str,
        *,
        specifier: str,
        inputs: Mapping[str, Any] | None = None,
        cancel_token: Any = None,
        extra_prelude: str | Sequence[str] | None = None,
        result_transform: str | None = None,
        split_result: Callable[[Any], tuple[Any, dict[str, list[Any]]]] | None = None,
        column_offset: int = 0,
        host_functions: Mapping[str, Callable[..., Any]] | None = None,
        modules: bool = False,
    ) -> ExecutionResult:
        """Run a prepared classic script in a realm; the module runner's hook.

        Contract (stable):

        - The realm has the same prelude and lockdown as for ``evaluate``
          (timers, console → logger ``zako.js``, ArrayBuffer cap, heap limit);
          ``globalThis.executionContext`` is ``inputs``.
        - ``extra_prelude``: JS source(s) evaluated once per realm, in
          order, after the prelude and before lockdown (realms are kept per
          distinct set of extras), e.g. the module registry. Give each its
          own ``//# sourceURL=...``. If one throws, ``V8Error`` is raised
          (it is engine code, not the user's).
        - ``script`` must synchronously call ``__zako_start(fn)`` exactly
          once, where ``fn`` is a function returning a promise (or value)
          whose settlement is the result; a script that never calls it
          raises ``V8Error``. ``//# sourceURL=<specifier>`` is appended, so
          stack frames of ``script`` read ``specifier:line:col``.
        - ``column_offset``: characters of wrapper put before the user's
          text on line 1; subtracted from columns on line 1 in stacks and
          syntax errors.
        - ``result_transform``: JS source of a function expression, applied
          in the context to the settled value before conversion (e.g. turn
          a module namespace into a plain object).
        - ``split_result``: Python callable receiving the converted value and
          returning ``(value, declarations)`` for the ``ExecutionResult``.
        - ``host_functions``: as for ``evaluate``; JS may also call
          ``__zako_host(name, ...args)``. While a host call is outstanding a
          pending promise is not a deadlock.
        - ``script`` may also be a callable ``script(known) -> (text,
          new_keys)``: ``known`` is the set of module-factory keys the realm
          already holds; ``new_keys`` are added to it once the evaluation
          has ended without an exception (see ``module_runner``).
        - ``modules``: the script starts the module runtime (which refuses
          to start in any other evaluation, and more than once).
        - Throws become ``ExecutionResult.exception``; failures raise the
          ``V8Error`` subclasses exactly as ``evaluate`` does.
        """
        if self._closed:
            raise V8Error("engine is closed", module_specifier=specifier)
        if not isinstance(script, str) and not callable(script):
            raise TypeError(f"script must be str, got {type(script).__name__}")
        new_keys: set[str] = set()
        if not isinstance(specifier, str) or not specifier or "\n" in specifier:
            raise ValueError(f"specifier must be a one-line non-empty str, got {specifier!r}")
        inputs_json = _inputs_json(inputs, specifier)
        hosts = _host_functions(host_functions, specifier)
        extras = [extra_prelude] if isinstance(extra_prelude, str) else list(extra_prelude or ())

        if cancel_token is not None and getattr(cancel_token, "cancelled", False):
            raise ScriptCancelledError("evaluation cancelled before it started", module_specifier=specifier)

        own_loop = _thread_loop()
        loop = own_loop if own_loop is not None else _event_loop()
        started = time.perf_counter()
        realm = self._take_realm(extras, loop)
        realm.in_use = True
        ctx = realm.racer
        run = _Run(
            specifier=specifier,
            ctx=ctx,
            # Reading heap statistics blocks the isolate's thread for a while
            # (more than a small evaluation takes): a long-lived realm is
            # read every few evaluations, a new one always.
            read_stats=realm.evaluations % _STATS_EVERY == 0,
            deadline=loop.time() + self.timeout_s,
            timeout_s=self.timeout_s,
            heap_limit=self.heap_limit_bytes,
            column_offset=column_offset,
            host_functions=hosts,
        )
        with self._lock:
            self._live.add(run)
            self._evaluations += 1
        try:
            if callable(script):
                script, new_keys = script(realm.module_keys)
            begin = f"__zako_begin({json.dumps(inputs_json)},{json.dumps(sorted(hosts))},{json.dumps(modules)});"
            # begin shares line 1 and one eval with the script: one round trip.
            body = f"{begin}{script}\n;void 0\n//# sourceURL={run.url}"
            if run.column_offset:
                # Line 1 holds the caller's own text after its wrapper: shift
                # past begin too. (A module graph's script has no user text;
                # frames named after the entry there are the module's own.)
                run.column_offset += len(begin)
            transform = f"({result_transform})" if result_transform else "undefined"
            driver = _drive(run, body, f"__zako_step({transform})")
            try:
                if own_loop is not None:
                    outcome = _wait_here(own_loop, driver, run, cancel_token, self.timeout_s + _GRACE_S)
                else:
                    outcome = _wait_on_shared_loop(loop, driver, run, cancel_token, self.timeout_s + _GRACE_S)
                if new_keys and outcome[1] is None:
                    # The runtime compiled and kept these factories: later
                    # scripts may leave their code out.
                    realm.module_keys |= new_keys
            except (asyncio.TimeoutError, concurrent.futures.TimeoutError):
                run.healthy = False
                raise ScriptTimeoutError(
                    f"script did not finish within {self.timeout_s:g} s",
                    module_specifier=specifier,
                    addition_message=f"timeout_s={self.timeout_s:g}",
                ) from None
            except (asyncio.CancelledError, concurrent.futures.CancelledError):
                run.healthy = False
                if run.cancelled:
                    raise ScriptCancelledError(
                        "script was cancelled by its cancel token", module_specifier=specifier
                    ) from None
                raise
            except _Failure as failure:
                raise failure.error from None
        finally:
            stats = run.stats
            if stats is None and run.healthy and run.read_stats:
                try:
                    stats = ctx.heap_stats()
                except Exception:  # stats are best effort
                    stats = None
            if not run.healthy:
                stats = None
            elif stats is None:
                stats = realm.stats  # the realm's latest reading stands for this evaluation
            realm.stats = stats
            run.stats = stats
            with self._lock:
                self._live.discard(run)
                if stats is not None:
                    self._last_heap_stats = stats
            self._give_back(realm, run)

        value, exception = outcome
        if exception is not None and run.url != specifier:
            exception.specifier = specifier
            if exception.stack:
                exception.stack = exception.stack.replace(run.url, specifier)
        declarations: dict[str, list[Any]] = {}
        if exception is None and split_result is not None:
            value, declarations = split_result(value)
        return ExecutionResult(
            specifier=specifier,
            value=value,
            exception=exception,
            heap_stats=stats,
            peak_heap_bytes=int(stats.get("total_heap_size", 0)) if stats else 0,
            array_buffer_peak_bytes=run.ab_peak,
            duration_s=time.perf_counter() - started,
            declarations=declarations,
        )


# --- helpers ------------------------------------------------------------------------------


def _inputs_json(inputs: Any, specifier: str) -> str | None:
    if inputs is None:
        return None
    if not isinstance(inputs, Mapping):
        raise TypeError(f"inputs for {specifier!r} must be a JSON-able mapping, got {type(inputs).__name__}")
    try:
        return json.dumps(inputs, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"inputs for {specifier!r} are not JSON-able: {exc}") from None


_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")


def _host_functions(host_functions: Any, specifier: str) -> dict[str, Callable[..., Any]]:
    if not host_functions:
        return {}
    if not isinstance(host_functions, Mapping):
        raise TypeError(f"host_functions for {specifier!r} must be a mapping of name to callable")
    for name, fn in host_functions.items():
        if not isinstance(name, str) or not _IDENTIFIER.match(name) or name.startswith("__zako"):
            raise ValueError(f"host function name {name!r} for {specifier!r} is not a usable JS identifier")
        if not callable(fn):
            raise TypeError(f"host function {name!r} for {specifier!r} is not callable: {fn!r}")
    return dict(host_functions)


def _watch(token: Any, run: _Run, cancel: Callable[[], Any]) -> Callable[[], Any]:
    """Register a cancel callback; returns the function that unregisters it.
    ``cancel`` must be callable from any thread."""

    def on_cancel(*_args: Any) -> None:
        run.cancelled = True
        cancel()  # the loop cancels the driver, mini-racer terminates JS

    handle = token.add_callback(on_cancel)
    if getattr(token, "cancelled", False):
        on_cancel()

    def unregister() -> None:
        remove = getattr(token, "remove_callback", None)
        if remove is not None:
            remove(on_cancel)
        elif handle is not None:
            for name in ("remove", "cancel", "close", "dispose"):
                fn = getattr(handle, name, None)
                if callable(fn):
                    fn()
                    break
            else:
                if callable(handle):
                    handle()

    return unregister


def _submit(loop: asyncio.AbstractEventLoop, coro: Any, run: _Run) -> concurrent.futures.Future[Any]:
    """Like ``asyncio.run_coroutine_threadsafe``, but ``run.finished`` is set
    once the task is done, even when it was cancelled before its first step
    (the context may only be closed after that)."""
    cfut: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def copy_state(task: asyncio.Task[Any]) -> None:
        run.finished.set()
        if cfut.done():
            return
        if task.cancelled():
            cfut.cancel()
        elif task.exception() is not None:
            cfut.set_exception(task.exception())
        else:
            cfut.set_result(task.result())

    def start() -> None:
        if cfut.cancelled():
            coro.close()
            run.finished.set()
            return
        task = loop.create_task(coro)
        task.add_done_callback(copy_state)
        cfut.add_done_callback(lambda f: f.cancelled() and loop.call_soon_threadsafe(task.cancel))

    loop.call_soon_threadsafe(start)
    return cfut


def _wait_here(loop: asyncio.AbstractEventLoop, driver: Any, run: _Run, token: Any, limit_s: float) -> Any:
    """Drive an evaluation on this thread's own loop: no other thread is
    woken on the way (V8's answers arrive straight on this loop)."""
    task = loop.create_task(driver)
    task.add_done_callback(lambda _t: run.finished.set())
    unregister = _watch(token, run, lambda: loop.call_soon_threadsafe(task.cancel)) if token is not None else None
    # The driver keeps its own deadline; this one only covers a driver that
    # would not unwind when cancelled.
    def give_up() -> None:
        run.expired = True
        task.cancel()

    stuck = loop.call_later(limit_s, give_up)
    try:
        return loop.run_until_complete(task)
    finally:
        stuck.cancel()
        if unregister is not None:
            unregister()
        if not task.done():
            # Interrupted (KeyboardInterrupt...): let the driver unwind before
            # its context is closed.
            run.healthy = False
            task.cancel()
            try:
                loop.run_until_complete(asyncio.wait([task], timeout=_GRACE_S))
            except BaseException:  # already unwinding
                pass


def _wait_on_shared_loop(loop: asyncio.AbstractEventLoop, driver: Any, run: _Run, token: Any, limit_s: float) -> Any:
    """Drive an evaluation on the process-wide loop (the caller's thread
    already runs an asyncio loop) and wait for it."""
    cfut = _submit(loop, driver, run)
    unregister = _watch(token, run, cfut.cancel) if token is not None else None
    try:
        try:
            return cfut.result(timeout=limit_s)
        except concurrent.futures.TimeoutError:
            cfut.cancel()
            raise
    finally:
        if unregister is not None:
            unregister()
        if not run.finished.is_set():
            cfut.cancel()
            run.healthy = False
            run.finished.wait(_GRACE_S)


async def _drive(run: _Run, body: str, step: str) -> tuple[Any, JSException | None]:
    """Drive one evaluation. One timer per evaluation enforces its deadline
    (a ``wait_for`` per JS call cost a task and a timer handle each)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def expire() -> None:
        run.expired = True
        task.cancel()  # mini-racer terminates the running JS when its call is cancelled

    handle = loop.call_at(run.deadline, expire)
    try:
        return await _drive_steps(run, body, step, loop)
    except asyncio.CancelledError:
        if run.expired:
            raise _timeout(run, run.doing) from None
        raise
    finally:
        handle.cancel()


async def _drive_steps(run: _Run, body: str, step: str, loop: asyncio.AbstractEventLoop) -> tuple[Any, JSException | None]:
    ctx = run.ctx
    spec = run.url

    async def ev(code: str, what: str, queued: bool = False) -> Any:
        if run.deadline - loop.time() <= 0:
            raise _timeout(run, what)
        if not queued:  # a queued step runs after the script: the script is what runs now
            run.doing = what
        try:
            result = await ctx.eval_cancelable(code)
        except JSOOMException:
            run.healthy = False
            raise _heap(run) from None
        except (JSParseException, JSEvalException):
            if ctx.was_hard_memory_limit_reached():
                run.healthy = False
                raise _heap(run) from None
            raise
        if ctx.was_hard_memory_limit_reached():
            # the limit is checked after GC, so it may surface one call late
            run.healthy = False
            raise _heap(run)
        return result

    # The first step goes with the script instead of after its answer: V8
    # runs the two in order and drains the script's microtasks in between,
    # so the step sees what it would have seen sent later, and each thread
    # is woken once less per evaluation. (Tasks start in creation order.)
    body_task = loop.create_task(ev(body, "script"))
    first_step: asyncio.Task[Any] | None = loop.create_task(ev(step, "host step", queued=True))
    try:
        try:
            await body_task
        except JSParseException as exc:
            await _settle(first_step)
            return None, _syntax_error(str(exc), spec, run.column_offset)
        except JSEvalException as exc:  # a throw outside __zako_start (prepared scripts only)
            await _settle(first_step)
            text = str(exc)
            if _BODY_MARK in text:
                # The wrapper was escaped: top-level bindings may exist now. The
                # realm is not trusted again.
                run.healthy = False
                return None, _body_error(text, spec)
            return None, _top_level_error(text, spec, run.column_offset)
    except BaseException:
        first_step.cancel()  # the realm is not reused after a failure that gets here
        raise

    in_flight: set[asyncio.Future[str]] = set()
    while True:
        if first_step is not None:
            run.doing = "host step"
            text, first_step = await first_step, None
        else:
            text = await ev(step, "host step")
        if not isinstance(text, str):
            raise _Failure(V8Error("host protocol broken: step did not return text", module_specifier=run.specifier))
        state = json.loads(text)
        if state.get("dirty"):
            run.healthy = False  # it changed what lockdown watches: this realm serves no one else
        _emit_logs(run.specifier, state["logs"], state["dropped"])
        run.ab_peak = max(run.ab_peak, int(state.get("ab", 0)))
        for request in state.get("host", ()):
            in_flight.add(_start_host_call(run, loop, request))
        s = state["s"]
        if in_flight and s in ("ran", "sleep", "wait"):
            done = [f for f in in_flight if f.done()]
            if not done and s != "ran":
                delay = state["ms"] / 1000.0 if s == "sleep" else None
                remaining = run.deadline - loop.time()
                timeout = remaining if delay is None else min(delay, remaining)
                finished, _ = await asyncio.wait(in_flight, timeout=max(0.0, timeout), return_when=asyncio.FIRST_COMPLETED)
                done = list(finished)
                if not done and loop.time() >= run.deadline:
                    raise _timeout(run, "waiting for host calls")
            for fut in done:
                in_flight.discard(fut)
                await ev(fut.result(), "settling a host call")
            continue
        if s == "ran":
            continue
        if s == "sleep":
            delay = state["ms"] / 1000.0
            remaining = run.deadline - loop.time()
            if delay >= remaining:
                raise _timeout(run, f"waiting {delay:g} s for a timer")
            if run.gc_requested:
                run.gc_requested = False
                notified = loop.run_in_executor(None, ctx.low_memory_notification)
                try:
                    await asyncio.shield(notified)
                finally:
                    # never leave the call running against a context about to close
                    await asyncio.wait([notified], timeout=max(0.0, run.deadline - loop.time()) + 1.0)
                continue
            await asyncio.sleep(delay)
            continue
        if s == "ok" or s == "throw":
            if not run.read_stats and time.perf_counter() - run.started >= _STATS_AFTER_S:
                run.read_stats = True  # a long evaluation may have grown the heap: worth a reading
            if run.read_stats:
                # Read here, while on the loop: saves waking the caller twice.
                run.stats = ctx.heap_stats()
            if s == "ok":
                return state["value"], None
            return None, _js_exception(state["err"], spec, run.column_offset)
        if s == "conv":
            raise _Failure(ConversionError(state["msg"], module_specifier=run.specifier))
        if s == "heap":
            run.healthy = False
            raise _Failure(HeapLimitError(
                "memory limit exceeded", module_specifier=run.specifier, exception=state["msg"],
                addition_message=f"heap_limit_bytes={run.heap_limit}",
            ))
        if s == "deadlock":
            raise _Failure(DeadlockError(
                "event loop terminated but the promise is still pending: no timer or host call can settle it",
                module_specifier=run.specifier,
            ))
        if s == "nostart":
            raise _Failure(V8Error("script never called __zako_start", module_specifier=run.specifier))
        if s == "wait":  # JS counts a host call that the host does not know of
            raise _Failure(DeadlockError("waiting for a host call that cannot complete", module_specifier=run.specifier))
        raise _Failure(V8Error(f"host protocol broken: unknown state {s!r}", module_specifier=run.specifier))


async def _settle(step: asyncio.Task[Any]) -> None:
    """Let a step sent after a script that failed finish (it only reports
    that nothing started); cancelling it would terminate the realm's JS."""
    try:
        await step
    except (JSEvalException, JSParseException, _Failure):
        pass


def _start_host_call(run: _Run, loop: asyncio.AbstractEventLoop, request: list[Any]) -> asyncio.Future[str]:
    """Run one host function in a worker thread; the future gives the JS that settles it."""
    call_id, name, args_json = request
    fn = run.host_functions.get(name)

    def call() -> str:
        try:
            if fn is None:
                raise LookupError(f"no host function {name!r} (have: {', '.join(sorted(run.host_functions)) or 'none'})")
            value = fn(*json.loads(args_json))
            payload, ok = json.dumps(value, allow_nan=False), "true"
        except Exception as exc:  # the script sees it as a rejected promise
            payload = json.dumps({"name": type(exc).__name__, "message": str(exc)})
            ok = "false"
        return f"__zako_host_settle({int(call_id)}, {ok}, {json.dumps(payload)})"

    return loop.run_in_executor(None, call)


def _timeout(run: _Run, what: str) -> _Failure:
    run.healthy = False
    return _Failure(ScriptTimeoutError(
        f"script did not finish within {run.timeout_s:g} s",
        module_specifier=run.specifier,
        addition_message=f"timeout_s={run.timeout_s:g}, while {what}",
    ))


def _heap(run: _Run) -> _Failure:
    return _Failure(HeapLimitError(
        "script exceeded the V8 heap limit",
        module_specifier=run.specifier,
        addition_message=f"heap_limit_bytes={run.heap_limit}",
    ))


def _emit_logs(spec: str, logs: list[list[str]], dropped: int) -> None:
    for level, text in logs:
        _js_log.log(_LEVELS.get(level, logging.INFO), "%s: %s", spec, text, extra={"specifier": spec})
    if dropped:
        _js_log.warning("%s: %d console messages dropped (more than %d between two host steps)",
                        spec, dropped, _CONSOLE_MAX, extra={"specifier": spec})


def _fix_columns(stack: str | None, spec: str, offset: int) -> str | None:
    """Clean a JS stack for the user: columns on line 1 are shifted back by the
    wrapper's length, and frames of the prelude and of the wrapper's own call
    (line 1, inside the wrapper text) are dropped."""
    if not stack:
        return stack
    pattern = re.compile(re.escape(spec) + r":1:(\d+)")
    kept = []
    for ln in stack.split("\n"):
        if ln.startswith("    at "):
            if any(f"(zako:{n}:" in ln or ln.startswith(f"    at zako:{n}:") for n in ("prelude", "lockdown")):
                continue
            m = pattern.search(ln)
            if m and offset and int(m.group(1)) <= offset:
                continue  # the __zako_start(...) call of the wrapper itself
            if m and offset:
                ln = ln[: m.start(1)] + str(int(m.group(1)) - offset) + ln[m.end(1):]
        kept.append(ln)
    return "\n".join(kept)


def _js_exception(err: dict[str, Any], spec: str, offset: int) -> JSException:
    return JSException(
        err["message"],
        stack=_fix_columns(err.get("stack"), spec, offset),
        specifier=spec,
        exception=err["exception"],
        name=err.get("name"),
    )


# mini-racer reports "<file>:<line>: <Name>: <message>\n<source line>\n<caret>\n..."
_MSG_HEAD = re.compile(r"^(?P<file>.*?):(?P<line>\d+): (?P<text>.*)$")


def _syntax_error(text: str, spec: str, offset: int) -> JSException:
    lines = text.split("\n")
    head = _MSG_HEAD.match(lines[0]) if lines else None
    if head is None:
        return JSException(text.strip(), specifier=spec, exception=text.strip(), name="SyntaxError")
    line = int(head.group("line"))
    detail = head.group("text")
    column = None
    if len(lines) > 2 and "^" in lines[2]:
        column = lines[2].index("^") + 1
        if line == 1:
            column = max(1, column - offset)
    name, _, message = detail.partition(": ")
    if not message:
        name, message = "SyntaxError", detail
    where = f"{spec}:{line}" + (f":{column}" if column else "")
    return JSException(
        message,
        stack=f"{name}: {message}\n    at {where}",
        specifier=spec,
        exception=f"{name}: {message}",
        name=name,
        line=line,
        column=column,
    )


def _body_error(text: str, spec: str) -> JSException:
    lines = text.split("\n")
    head = next((ln for ln in lines if _BODY_MARK in ln), lines[0])
    message = head[head.index(_BODY_MARK) + len(_BODY_MARK):].strip()
    message = f"{message} (the script is not a valid function body)"
    return JSException(message, stack=f"SyntaxError: {message}\n    at {spec}", specifier=spec,
                       exception=f"SyntaxError: {message}", name="SyntaxError")


def _top_level_error(text: str, spec: str, offset: int) -> JSException:
    lines = text.split("\n")
    head = _MSG_HEAD.match(lines[0]) if lines else None
    detail = head.group("text") if head else lines[0]
    stack_start = next((i for i, ln in enumerate(lines) if ln.startswith("    at ")), None)
    stack = "\n".join(lines[stack_start - 1:]).strip() if stack_start else None
    name, _, message = detail.partition(": ")
    if not message:
        name, message = None, detail
    return JSException(
        message,
        stack=_fix_columns(stack, spec, offset),
        specifier=spec,
        exception=detail,
        name=name,
        line=int(head.group("line")) if head else None,
    )
