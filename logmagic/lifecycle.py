"""Flushing, closing, reopening and counting sinks; exit and fork handling.

At interpreter exit every sink is flushed with a timeout (5 s by default) so that exit never
hangs on a dead destination, and losses not yet reported are written to stderr. After
``fork()`` each sink resets its locks in the child.

A ``multiprocessing`` child started by fork never runs ``atexit``: it ends with ``os._exit``
after its target returns. logmagic therefore registers a ``multiprocessing`` finalizer in such
children (the lowest priority, so it runs after the application's own), which flushes the same
way ``atexit`` does.
"""

from __future__ import annotations

import atexit
import os
import sys
import time

from logmagic import _fdio, _report, call_paths, config, flight_recorder, logger
from logmagic._report import REPORTER
from logmagic.sinks import Sink, queued

__all__ = ["EXIT_TIMEOUT", "flush", "reopen", "shutdown", "stats"]

#: Seconds ``flush`` at interpreter exit may take in all.
EXIT_TIMEOUT = 5.0


def _unique() -> list[Sink]:
    seen: list[Sink] = []
    for sink in config.sinks().values():
        if sink not in seen:
            seen.append(sink)
    return seen


def flush(timeout: float = 5.0) -> bool:
    """Wait until every sink has written what it holds, or ``timeout`` seconds pass.

    Returns True when everything was flushed in time.
    """
    deadline = time.monotonic() + timeout
    ok = True
    for sink in _unique():
        left = max(0.0, deadline - time.monotonic())
        try:
            ok = sink.flush(left) is not False and ok
        except Exception:
            ok = False
    return ok


def shutdown(timeout: float = 5.0) -> bool:
    """Flush, then close every sink. Logging afterwards still works: sinks reopen lazily."""
    ok = flush(timeout)
    for sink in _unique():
        try:
            sink.close(0.0)
        except Exception:
            ok = False
    REPORTER.report_now()
    return ok


def reopen() -> None:
    """Reopen file sinks, e.g. from a SIGHUP handler after logrotate."""
    for sink in _unique():
        try:
            sink.reopen()
        except Exception:
            pass


def stats() -> dict[str, dict[str, int]]:
    """Counters per sink name: at least ``written`` and ``dropped`` for logmagic's own sinks.

    Records lost before reaching any sink (an invalid level given to ``log()``) are counted
    under ``logmagic``, once there are any, and so are logmagic's own diagnostic lines that a
    full stderr did not take (``diagnostics_unwritten``). With the flight recorder on (or once it
    has counted anything), ``flight_recorder`` holds its counts: ``kept``, ``replayed``,
    ``dropped`` (a transaction's caps), ``not_kept`` (the process cap), ``discarded``
    (transactions that ended well) and ``bytes_held``.
    """
    out: dict[str, dict[str, int]] = {}
    for name, sink in config.sinks().items():
        try:
            out[name] = dict(sink.stats())
        except Exception:
            out[name] = {}
    internal = call_paths.internal_stats()
    unwritten = _report.unwritten()
    if unwritten:
        internal["diagnostics_unwritten"] = unwritten
    if internal["dropped"] or unwritten:
        out["logmagic"] = internal
    recorded = flight_recorder.stats()
    if flight_recorder.active() is not None or any(recorded.values()):
        out["flight_recorder"] = recorded
    return out


def _at_exit() -> None:
    # Flush within the timeout, then close: what a dead destination still holds is counted
    # and reported on stderr, and the process exits instead of waiting for it. Exit handlers
    # that run after this one may still log: network sinks then deliver each record at once.
    # From here on no write to a full stderr waits more than _fdio.EXIT_WAIT.
    _fdio.EXIT.start()
    shutdown(EXIT_TIMEOUT)
    queued.after_exit()


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time stays held forever in the child: each module
    # that owns a lock replaces its own (registered where the lock is made); sinks here.
    for sink in _unique():
        try:
            sink.after_fork()
        except Exception:
            pass


class _MultiprocessingHook:
    """The key for ``multiprocessing.util.register_after_fork`` (it holds its keys weakly)."""

    registered = False
    finalizer_pid = 0


_MP_HOOK = _MultiprocessingHook()


def _before_fork() -> None:
    # multiprocessing clears its finalizers when a child starts, then runs its after-fork
    # hooks: a hook is the only way to leave an exit flush in such a child. Registered once,
    # in the parent, and only when the application uses multiprocessing.
    if not _MP_HOOK.registered and "multiprocessing.util" in sys.modules:
        _MP_HOOK.registered = True
        sys.modules["multiprocessing.util"].register_after_fork(_MP_HOOK, _in_multiprocessing_child)


def _in_multiprocessing_child(hook: _MultiprocessingHook) -> None:
    if hook.finalizer_pid != os.getpid():
        hook.finalizer_pid = os.getpid()
        sys.modules["multiprocessing.util"].Finalize(None, _at_exit, exitpriority=-100)


queued.set_logger_factory(logger.local)  # network sinks say through a logger what an outage cost
atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
