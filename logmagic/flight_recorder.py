"""The flight recorder: a transaction's records below their route's threshold, kept in memory
and written only if the transaction fails.

Production runs at INFO, so the DEBUG lines of the one request that failed were never
written. With ``configure(flight_recorder=DEBUG)``, a level that is off for a facility but at
or above the recorder's level keeps its records, inside a transaction, in that transaction's
``Recorder`` (the third part of ``logmagic.txn.Scope``, so threads and tasks share it as they
share the txnId). Records are kept as sinks would receive them (rewritten, with the txnId and
context fields, redacted), not encoded.

* A record at ERR or worse in the transaction (a level method, ``exception``, a stdlib record
  forwarded by the bridge) first writes the kept records, oldest first, each with
  ``flight_recorder: true``, to the sinks of its facility's route.
* A ``transaction()`` block that raises writes them too, then one ERR record saying so.
* A transaction that ends otherwise throws them away.

Bounded: per transaction at most ``max_records`` records and ``max_bytes`` of estimated size
(the oldest go first; the replay opens with a record saying how many went); all open
transactions together at most ``max_total`` bytes, beyond which records are not kept.
``stats()`` counts all of it. A kept record is written at most once, and never after its
transaction ended.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from logmagic import redact, txn
from logmagic._forklocks import renew_after_fork
from logmagic._report import REPORTER
from logmagic._safe import describe_exception
from logmagic.encode._plain import trim_kept as _trim_kept
from logmagic.levels import ERR, TRACE8, WARNING
from logmagic.record import Record

__all__ = ["FlightRecorder", "Recorder", "Settings", "active", "replay_current", "set_active", "stats"]

#: What ``configure(flight_recorder=...)`` may leave out.
MAX_RECORDS = 256
MAX_BYTES = 256 * 1024
MAX_TOTAL = 64 * 1024 * 1024
#: The facility of the recorder's own records (the drop count, a transaction that raised).
FACILITY = "logmagic.flight_recorder"

Emit = Callable[[Record], None]
#: Where a kept record goes: its facility, its level and the emits of its route's sinks (one
#: tuple per level method, shared by all the records it keeps).
Spec = tuple[str, int, "tuple[Emit, ...]"]
#: A kept record: its ``Spec``, message, fields (rewritten and redacted), timestamp,
#: full_message, the ``txn.Scope`` it was made in (its txnId and context fields are added when
#: it is written), and its estimated size, always the last item (``_plain.trim_kept`` reads it).
Entry = tuple[Spec, str, "dict[Any, Any]", float, "str | None", "txn.Scope", int]
#: What a kept record counts for besides its message and fields.
ENTRY_SIZE = 200


@dataclass(frozen=True)
class Settings:
    """``configure(flight_recorder=...)``: the level kept down to, and the caps."""

    level: int
    max_records: int = MAX_RECORDS
    max_bytes: int = MAX_BYTES
    max_total: int = MAX_TOTAL

    def checked(self) -> Settings:
        """These settings, or ``ValueError`` saying which one is wrong."""
        if type(self.level) is not int or not 0 <= self.level <= TRACE8:
            raise ValueError(f"flight_recorder: level must be a level 0..15, got {self.level!r}")
        for name in ("max_records", "max_bytes", "max_total"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"flight_recorder: {name} must be a whole number >= 1, got {value!r}")
        return self


#: The public name: ``logmagic.configure(flight_recorder=logmagic.FlightRecorder(DEBUG, max_records=64))``.
FlightRecorder = Settings

_lock = threading.RLock()  # reentrant: a signal handler may log while it is held
renew_after_fork(globals(), "_lock")
#: Estimated bytes held by all open recorders.
_held = 0
_counts = {"kept": 0, "replayed": 0, "dropped": 0, "not_kept": 0, "discarded": 0}
_SETTINGS: Settings | None = None


def active() -> Settings | None:
    """The recorder's settings, or None when it is off (the default)."""
    return _SETTINGS


def big_record(limits: Settings) -> int:
    """The estimated size above which a kept record is accounted at once (see ``Recorder``)."""
    return max(limits.max_bytes // Recorder.BATCH, 1)


def set_active(settings: Settings | None) -> None:
    """Turn the recorder on (``settings``) or off; transactions begun from now on use it."""
    global _SETTINGS
    _SETTINGS = settings
    txn.set_recorder_factory(None if settings is None else (lambda: Recorder(settings)))


class Recorder:
    """One transaction's kept records, shared by every thread and task of the transaction.

    Keeping must cost well under writing, so a kept record is only appended (``deque.append``
    is atomic: threads of one transaction need no lock for it); the caps are applied under the
    lock by ``account`` every ``BATCH`` records, at once for a record larger than
    ``max_bytes / BATCH``, and before every replay. Between two accounts a transaction may hold
    up to about ``max_bytes`` beyond its caps; what a replay writes is within them.
    """

    __slots__ = (
        "accounted",
        "big",
        "check_at",
        "dropped",
        "ended",
        "entries",
        "limits",
        "max_bytes",
        "max_records",
        "max_total",
        "size",
    )

    #: Records appended between two accounts, at most.
    BATCH = 16

    def __init__(self, limits: Settings) -> None:
        self.limits = limits
        self.max_records, self.max_bytes, self.max_total = limits.max_records, limits.max_bytes, limits.max_total
        self.entries: deque[Entry] = deque()
        #: Entries at the left of ``entries`` whose size is counted in ``size`` and ``_held``.
        self.accounted = 0
        #: A record larger than this is accounted at once, so that a batch holds at most about
        #: ``max_bytes`` beyond the caps.
        self.big = big_record(limits)
        self.check_at = self.BATCH
        self.size = 0
        self.dropped = 0
        self.ended = False

    def keep(self, entry: Entry) -> None:
        """Keep a record for a replay (the level methods inline this)."""
        entries = self.entries
        entries.append(entry)
        if entry[-1] > self.big or len(entries) > self.check_at:
            self.account()

    def account(self) -> None:
        """Apply the caps to what was appended since the last account."""
        with _lock:
            self._account()

    def _account(self) -> None:
        """Under the lock: count the new entries, then drop the oldest until the caps hold.

        Only this (and ``_take``) removes entries, always from the left, under the lock; other
        threads only append on the right, so the entries not yet counted are the last ones.
        ``_plain.trim_kept`` does the counting and dropping (in C where it was built).
        """
        global _held
        entries = self.entries
        if self.ended:  # appended by a thread that outlived its transaction: never written
            entries.clear()
            self.accounted = 0
            return
        accounted, size, held, new, dropped, not_kept = _trim_kept(
            entries, self.accounted, self.size, _held, self.max_records, self.max_bytes, self.max_total
        )
        if new:
            _counts["kept"] += new
        if dropped or not_kept:
            self.dropped += dropped + not_kept
            _counts["dropped"] += dropped
            _counts["not_kept"] += not_kept
        self.accounted, self.size, _held = accounted, size, held
        self.check_at = accounted + self.BATCH

    def _take(self, end: bool) -> tuple[list[Entry], int]:
        """The kept records and the drop count, handed over once; ``end``: no more are kept."""
        global _held
        with _lock:
            if self.ended:
                return [], 0
            self._account()
            entries = self.entries
            taken = [entries.popleft() for _ in range(self.accounted)]
            dropped = self.dropped
            _held -= self.size
            self.size = self.dropped = self.accounted = 0
            self.check_at = self.BATCH
            self.ended = end
            return taken, dropped

    def replay(self) -> int:
        """Write the kept records now (a record at ERR or worse is about to be written)."""
        taken, dropped = self._take(end=False)
        _write(taken, dropped)
        return len(taken)

    def end(self, error: BaseException | None) -> None:
        """The transaction ended: with ``error``, write what was kept and say why; else discard."""
        taken, dropped = self._take(end=True)
        if error is None or not (taken or dropped):
            if taken:
                with _lock:
                    _counts["discarded"] += len(taken)
            return
        _write(taken, dropped)
        last = taken[-1] if taken else None
        if last is None:
            return
        tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        fields: dict[str, Any] = {"flight_recorder": True, "error": describe_exception(error)}
        txn.add_scope(last[5], fields)
        rec = Record(FACILITY, ERR, "transaction ended with an unhandled exception", fields, time.time(), tb)
        _emit(last[0][2], rec)


def _write(taken: list[Entry], dropped: int) -> None:
    """Write kept records to their sinks, oldest first, marked ``flight_recorder: true``."""
    if not taken:
        return
    first = taken[0]
    if dropped:
        fields: dict[str, Any] = {"flight_recorder": True, "dropped": dropped}
        txn.add_scope(first[5], fields)
        msg = f"flight recorder: {dropped} earlier record(s) of this transaction were dropped to stay within its caps"
        _emit(first[0][2], Record(FACILITY, WARNING, msg, fields, first[3], None))
    for (facility, level, emits), msg, kept, ts, full, scope, _size in taken:
        fields = dict(kept)
        txn.add_scope(scope, fields)
        # The redaction stage again, over the txnId and context fields too (and a nested value
        # kept by reference may have changed since).
        fields = redact.stage(fields)
        fields["flight_recorder"] = True
        _emit(emits, Record(facility, level, msg, fields, ts, full))
    with _lock:
        _counts["replayed"] += len(taken)


def _emit(emits: tuple[Emit, ...], rec: Record) -> None:
    for emit in emits:
        try:
            emit(rec)
        except Exception as exc:  # sinks never raise; a user's sink might
            REPORTER.lost("logmagic", f"flight recorder: a sink failed: {describe_exception(exc)}")


def replay_current() -> None:
    """Write the current transaction's kept records, if any (before a record at ERR or worse)."""
    now = txn.get_current()
    if now.__class__ is txn.Scope:
        recorder = now.recorder
        if recorder is not None and recorder.entries:
            recorder.replay()


def stats() -> dict[str, int]:
    """Records kept, replayed, dropped (per-transaction caps), not kept (the process cap) and
    discarded (their transaction ended well), and the estimated bytes held now."""
    with _lock:
        return {**_counts, "bytes_held": _held}


def reset_stats() -> None:
    """Count from zero (``logmagic.reset()``)."""
    with _lock:
        for key in _counts:
            _counts[key] = 0


_SCALARS = (int, float, bool, type(None))


def estimate(msg: str, fields: dict[Any, Any]) -> int:
    """A kept record's size in bytes, roughly: what the caps count."""
    size = ENTRY_SIZE + len(msg)
    for key in fields:
        value = fields[key]
        size += 50 + (len(key) if type(key) is str else 50)
        kind = type(value)
        if kind is str or kind is bytes:
            size += len(value)
        elif kind not in _SCALARS:
            size += _deep(value, 0)
    return size


def _deep(value: Any, depth: int) -> int:
    """The size of a nested value, looked at down to 8 levels and 1,000 items each."""
    kind = type(value)
    if kind is str or kind is bytes or kind is bytearray:
        return 50 + len(value)
    if kind in _SCALARS:
        return 32
    if depth >= 8:
        return 64
    if isinstance(value, dict):
        n = 64
        for i, (k, v) in enumerate(value.items()):
            if i >= 1000:
                return n + 64 * (len(value) - i)
            n += _deep(k, depth + 1) + _deep(v, depth + 1)
        return n
    if isinstance(value, (list, tuple, set, frozenset)):
        n = 64
        for i, v in enumerate(value):
            if i >= 1000:
                return n + 64 * (len(value) - i)
            n += _deep(v, depth + 1)
        return n
    return 64
