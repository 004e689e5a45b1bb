"""The sink contract and the adapters that make user sinks safe to call.

A sink has ``emit(record)``, ``flush(timeout)`` and ``close(timeout)``. It never raises into
the caller: what it cannot write it counts (``stats()``) and reports on stderr.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from logmagic._report import REPORTER, warn
from logmagic._safe import describe_exception
from logmagic.record import Record

__all__ = ["MAX_NESTING", "GuardedSink", "Sink"]

#: How deep a record may be emitted from inside a user sink or rewriter that logs itself.
MAX_NESTING = 2

_nesting = threading.local()


class Sink:
    """Base class for sinks. Subclasses implement ``emit``; the rest has safe defaults."""

    #: The name the sink was registered under (set by ``register_sink``).
    name: str = ""

    def emit(self, record: Record) -> None:
        """Write one record. Must not raise."""
        raise NotImplementedError

    def flush(self, timeout: float | None = None) -> bool:
        """Push out anything buffered; True when everything was written within ``timeout``."""
        return True

    def close(self, timeout: float | None = None) -> None:
        """Flush and release resources. A closed sink may be used again (it reopens lazily):
        ``shutdown()`` and the exit flush close sinks that are still configured.

        A network sink that the configuration dropped is discarded instead, for good
        (``QueuedSink.discard``)."""
        self.flush(timeout)

    def reopen(self) -> None:
        """Reopen files (after logrotate moved them). Sinks without files do nothing."""

    def stats(self) -> dict[str, int]:
        """Counters for ``logmagic.stats()``."""
        return {}

    def takes_gelf_lines(self) -> bool:
        """Whether the loggers may hand this sink a GELF line they made themselves instead of a
        record (their direct path, ``logmagic.call_paths.make_gelf_line``): only when what the
        sink would write for the record is exactly that line. False unless a sink says so.
        """
        return False

    def after_fork(self) -> None:
        """Called in a child process after ``fork()``: reset locks and per-process state."""


class GuardedSink(Sink):
    """Wraps a user sink (a ``Sink`` object or ``fn(facility, level, msg, fields)``).

    Exceptions are counted and reported, never raised; a sink that logs through logmagic
    while emitting gets its nested records only up to ``MAX_NESTING`` deep (the rest are
    counted as lost), so it cannot recurse forever.
    """

    def __init__(self, target: Sink | Callable[[str, int, str, dict[str, Any]], Any], name: str = "") -> None:
        self.target = target
        self.name = name
        self._call: Callable[[Record], Any]
        if isinstance(target, Sink) or hasattr(target, "emit"):
            self._call = target.emit
        else:
            fn = target

            def call(rec: Record) -> None:
                fn(rec.facility, rec.level, rec.msg, rec.fields)

            self._call = call
        self.written = 0
        self.dropped = 0
        self.errors = 0

    def emit(self, record: Record) -> None:
        depth = getattr(_nesting, "depth", 0)
        if depth >= MAX_NESTING:
            self.dropped += 1
            REPORTER.lost(self.name, "sink logged recursively")
            return
        _nesting.depth = depth + 1
        try:
            self._call(record)
            self.written += 1
        except Exception as exc:
            self.errors += 1
            self.dropped += 1
            REPORTER.lost(self.name, describe_exception(exc))
        finally:
            _nesting.depth = depth

    def _forward(self, method: str, *args: Any) -> Any:
        """Call ``method`` on the target if it has one; ``_FAILED`` when it raised."""
        fn = getattr(self.target, method, None)
        if fn is None:
            return None
        try:
            return fn(*args)
        except Exception as exc:
            self.errors += 1  # counted in stats(); flush/close must not raise either
            warn(f"sink {self.name!r}: {method}() raised {describe_exception(exc)}")
            return _FAILED

    def flush(self, timeout: float | None = None) -> bool:
        """False when the target's flush said so or raised: its records may not be out."""
        result = self._forward("flush", timeout)
        return result is not False and result is not _FAILED

    def close(self, timeout: float | None = None) -> None:
        self._forward("close", timeout)

    def reopen(self) -> None:
        self._forward("reopen")

    def after_fork(self) -> None:
        self._forward("after_fork")

    def stats(self) -> dict[str, int]:
        inner = self._forward("stats")
        counters = {"written": self.written, "dropped": self.dropped, "errors": self.errors}
        if isinstance(inner, dict):
            counters.update(inner)
        return counters


#: What ``GuardedSink._forward`` returns when the target's method raised.
_FAILED = object()
