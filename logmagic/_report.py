"""Saying, on stderr, that records were lost: counted always, printed at most once per 10 s.

A logging library cannot log its own failures through itself, so losses go to fd 2 directly,
in one line, rate-limited so that a broken sink cannot flood the terminal or svlogd.
"""

from __future__ import annotations

import os
import threading
import time

#: Seconds between two loss reports.
REPORT_INTERVAL = 10.0


class LossReporter:
    """Collects losses per sink and writes a summary line to stderr, rate-limited."""

    def __init__(self, interval: float = REPORT_INTERVAL) -> None:
        self.interval = interval
        self._lock = threading.RLock()
        self._pending: dict[str, list[object]] = {}  # sink -> [count, last reason]
        self._last = float("-inf")

    def lost(self, sink: str, reason: str, count: int = 1) -> None:
        """Count ``count`` records lost by ``sink`` and report if the interval has passed."""
        with self._lock:
            entry = self._pending.setdefault(sink, [0, ""])
            entry[0] = int(entry[0]) + count  # type: ignore[call-overload]
            entry[1] = reason
            now = time.monotonic()
            if now - self._last < self.interval:
                return
            self._last = now
            line = self._take()
        _write_stderr(line)

    def report_now(self) -> None:
        """Write whatever is still unreported (at exit and at shutdown)."""
        with self._lock:
            line = self._take()
        if line:
            _write_stderr(line)

    def _take(self) -> str:
        if not self._pending:
            return ""
        parts = [f"{sink}: {count} lost ({reason})" for sink, (count, reason) in self._pending.items()]
        self._pending.clear()
        return "logmagic: records lost: " + "; ".join(parts) + "\n"

    def after_fork(self) -> None:
        """A child starts with no pending report and a fresh lock."""
        self._lock = threading.RLock()
        self._pending = {}


def _write_stderr(line: str) -> None:
    try:
        os.write(2, line.encode("utf-8", "backslashreplace"))
    except OSError:
        pass  # stderr itself is gone; the counters in logmagic.stats() still hold the loss


def warn(line: str) -> None:
    """One line on stderr about configuration (a malformed env var, a rewriter that raised)."""
    _write_stderr(f"logmagic: {line}\n")


#: Kinds of trouble already said by ``warn_once`` (bounded: a few hundred lines at most).
_said: set[str] = set()
_SAID_MAX = 300


def warn_once(kind: str, line: str) -> None:
    """``warn(line)`` the first time trouble of ``kind`` comes up; later ones are not repeated."""
    if kind in _said or len(_said) >= _SAID_MAX:
        return
    _said.add(kind)
    warn(line)


def forget_warnings() -> None:
    """Say every kind of trouble again (``logmagic.reset()``)."""
    _said.clear()


REPORTER = LossReporter()
