"""logmagic's own diagnostics on stderr: lost records (counted, rate-limited) and warnings.

A logging library cannot log its own failures through itself, so these lines go to fd 2
directly. Three promises hold for each of them:

* **Never waits.** stderr may be a pipe whose reader stopped (svlogd on a full disk). A
  diagnostic is written only if stderr takes it at once (``logmagic._fdio.BoundedWriter``);
  otherwise it is kept for the next report, and counted (``logmagic.stats()["logmagic"]``).
  At exit (``report_now``) the last report may wait up to ``EXIT_WAIT`` seconds.
* **One record, not a forgery.** The line is a GELF record of facility ``logmagic`` (level 4)
  with the text as ``short_message``, so what it quotes (an exception text holding a newline
  and a forged record) stays inside one JSON string. On a terminal it is a readable line with
  control characters escaped instead.
* **Redacted.** Text that looks like ``name=value`` or ``name: value`` with a secret name, and
  ``Bearer``/``Basic`` credentials, are masked as fields are (``logmagic.redact``).
"""

from __future__ import annotations

import os
import re
import threading
import time

import orjson

from logmagic import _fdio, redact
from logmagic._identity import IDENTITY

#: Seconds between two loss reports.
REPORT_INTERVAL = 10.0
#: The GELF level of a diagnostic line: WARNING.
LEVEL = 4
#: Longest diagnostic text kept, in characters.
MAX_TEXT = 4096


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
            self._add(sink, count, reason)
            now = time.monotonic()
            if now - self._last < self.interval:
                return
            self._last = now
            taken = self._take()
        self._say(taken, wait=False)

    def report_now(self, wait: bool = True) -> None:
        """Write whatever is still unreported (at exit and at shutdown), waiting at most
        ``EXIT_WAIT`` seconds for room on stderr when ``wait``."""
        with self._lock:
            taken = self._take()
        if taken:
            self._say(taken, wait)

    def _add(self, sink: str, count: int, reason: str) -> None:
        entry = self._pending.setdefault(sink, [0, ""])
        entry[0] = int(entry[0]) + count  # type: ignore[call-overload]
        entry[1] = reason

    def _take(self) -> dict[str, list[object]]:
        taken, self._pending = self._pending, {}
        return taken

    def _say(self, taken: dict[str, list[object]], wait: bool) -> None:
        """Write one report of ``taken``; if stderr has no room, keep it for the next one."""
        if not taken:
            return
        parts = [f"{sink}: {count} lost ({reason})" for sink, (count, reason) in taken.items()]
        if not say("records lost: " + "; ".join(parts), wait):
            with self._lock:
                for sink, (count, reason) in taken.items():
                    self._add(sink, int(count), str(reason))  # type: ignore[call-overload]

    def forget(self) -> None:
        """Drop the losses not reported yet (``logmagic.reset()``: their sinks are gone)."""
        with self._lock:
            self._pending = {}

    def after_fork(self) -> None:
        """A child starts with no pending report and a fresh lock."""
        self._lock = threading.RLock()
        self._pending = {}


class _Stderr:
    """Where diagnostics go: fd 2 through a writer that never waits, and what it could not say."""

    def __init__(self) -> None:
        self.writer = _fdio.BoundedWriter(2)
        self.lock = threading.RLock()  # reentrant: a signal handler may say something meanwhile
        self.unwritten = 0


_STDERR = _Stderr()


def say(text: str, wait: bool = False) -> bool:
    """Write one diagnostic line (``text``, redacted and escaped) to stderr. Never raises.

    False when stderr did not take it (it was full, or gone): the line is counted in
    ``unwritten()``. ``wait`` lets it wait up to ``EXIT_WAIT`` seconds for room.
    """
    try:
        line = _line(text, os.isatty(2))
    except Exception:
        line = b'{"version":"1.1","short_message":"logmagic: an unprintable diagnostic","_facility":"logmagic"}\n'
    out = _STDERR
    with out.lock:
        try:
            deadline = time.monotonic() + _fdio.EXIT_WAIT if wait else time.monotonic()
            if out.writer.write(line, deadline) == len(line):
                return True
        except OSError:
            pass
        out.unwritten += 1
    return False


def _line(text: str, terminal: bool) -> bytes:
    """The bytes of one diagnostic: a readable escaped line on a terminal, else a GELF record."""
    text = mask(text)
    if len(text) > MAX_TEXT:
        text = f"{text[:MAX_TEXT]}…[truncated {len(text) - MAX_TEXT} chars]"
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if terminal:
        return f"logmagic: {escape(text)}\n".encode()
    record = {
        "version": "1.1",
        "host": IDENTITY.host,
        "short_message": f"logmagic: {text}",
        "timestamp": int(time.time() * 1000) / 1000,
        "level": LEVEL,
        "_facility": "logmagic",
    }
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape(text: str) -> str:
    """Control characters as visible escapes (``\\n``, ``\\x1b``): one line a terminal shows as is."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def mask(text: str) -> str:
    """``text`` with the secrets it may quote masked (``Redactor.prose``); as it is when
    redaction is off (``logmagic.configure(redact=False)``)."""
    red = redact.ACTIVE
    return text if red is None else red.prose(text)


def unwritten() -> int:
    """Diagnostic lines stderr did not take (it was full or gone)."""
    return _STDERR.unwritten


def warn(line: str) -> None:
    """One line on stderr about configuration (a malformed env var, a rewriter that raised)."""
    say(line)


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
    """Start over (``logmagic.reset()``): say every kind of trouble again, drop the losses not
    reported yet (their sinks are gone) and count unwritten lines from zero."""
    _said.clear()
    REPORTER.forget()
    _STDERR.unwritten = 0


def _after_fork() -> None:
    """In a child after ``fork()``: fresh locks (another thread may have held one), nothing pending."""
    REPORTER.after_fork()
    _STDERR.lock = threading.RLock()


REPORTER = LossReporter()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
