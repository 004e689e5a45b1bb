"""The delivery engine of network sinks: a bounded queue and one worker thread per sink.

A log call never waits for the network: the record is encoded in the caller's thread (so the
line is a snapshot of the fields as they were) and appended to a bounded queue. One worker
thread per sink — started on the first record, never one per call or per client — takes
batches by size or age, delivers them, and retries with exponential backoff and jitter while
the destination is down. The queue bounds what is kept meanwhile, in records (``queue_size``)
and in bytes of encoded lines (``queue_bytes``): when either is reached the newest record is
dropped and counted (or the caller waits up to ``block_ms``).

``flush(timeout)`` waits until everything queued is delivered or the timeout passes; at exit
logmagic flushes with a timeout, so a dead collector never hangs a process. After ``fork()``
the child starts with an empty queue and its own worker. Counters — queued, sent, retried,
dropped — are in ``logmagic.stats()``; drops are reported as a record once delivery recovers.

``close`` stops the worker and the next record starts another (after ``shutdown()``, and for
records logged after the exit flush). ``discard`` is the close of a sink the configuration
dropped (``reset()``, a name registered again): it never starts a worker again, and a record
that still reaches it through a level method taken before the change is counted as dropped.
"""

from __future__ import annotations

import collections
import queue as queues
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from logmagic._report import REPORTER
from logmagic._safe import describe_exception
from logmagic.encode import GelfEncoder
from logmagic.record import Record
from logmagic.sinks.base import Sink
from logmagic.transport.retry import Reject, next_backoff, retry_delay

__all__ = [
    "DISCARDED",
    "IDLE_POLL",
    "LATE_TIMEOUT",
    "QUEUE_BYTES",
    "QUEUE_SIZE",
    "QueuedSink",
    "after_exit",
    "set_logger_factory",
]

#: Seconds the worker sleeps when idle before looking at the queue again.
IDLE_POLL = 0.05
#: Seconds a record logged after the exit flush may wait for its delivery (see ``after_exit``).
LATE_TIMEOUT = 1.0
#: The default bounds of a sink's queue. The bytes are the real limit (an encoded GELF line is
#: 100 bytes at least, so a million lines never fit in 32 MiB); the record count caps the
#: bookkeeping per line (some 40 bytes each: the bytes object and its slot in the deque).
QUEUE_SIZE = 1_000_000
QUEUE_BYTES = 32 * 1024 * 1024
#: Why a record given to a sink the configuration dropped is lost (see ``QueuedSink.discard``).
DISCARDED = "the configuration dropped this sink"

_exited = False


class _Logger(Protocol):
    def warning(self, msg: str, /, **fields: Any) -> None: ...


#: Makes the logger of a facility (``logmagic.logger.local``), for the record that says what
#: an outage cost once delivery works again. A sink sits below the loggers and must not import
#: them: the layer above installs this (``set_logger_factory``); until it does, that record is
#: not written (the losses were reported on stderr as they happened).
_logger_factory: Callable[[str], _Logger] | None = None


def set_logger_factory(factory: Callable[[str], _Logger]) -> None:
    """Install how network sinks get the logger of facility ``logmagic.delivery``."""
    global _logger_factory
    _logger_factory = factory


def after_exit() -> None:
    """The exit flush is done: from now on each record is delivered before its log call returns.

    Exit handlers registered before logmagic's own run after it (``atexit`` runs the newest
    first) and may still log. No worker would deliver those records before the process ends,
    so the log call waits up to ``LATE_TIMEOUT`` for its record, and a record that could not
    be delivered is counted and reported as dropped rather than lost in silence (``close``
    gives the worker half a second more to let go of its batch: 1.5 s in all).
    """
    global _exited
    _exited = True


class _Control:
    """What one worker thread obeys; a closed sink's next worker gets a new one.

    No ``threading.Event`` and no lock on the caller's side: a signal handler that logs or
    flushes may interrupt the main thread anywhere, also inside this, and ``Event.set`` would
    then wait forever for a lock its own thread holds. The flags are plain attributes; the
    worker sleeps on ``wake``, a ``SimpleQueue`` (its ``put`` may be called again from a
    signal handler), and each token in it means: look again.
    """

    def __init__(self) -> None:
        self.wake: queues.SimpleQueue[None] = queues.SimpleQueue()
        #: A record's token is in ``wake`` and the worker has not slept since: no more are
        #: added, so the tokens stay few however many records come (a race adds one or two).
        self.woken = False
        self.urgent = False  # flush or close: send what is queued without waiting
        self.stop = False  # close: the worker ends when the queue is empty
        self.give_up = False  # close timed out: stop retrying
        #: Close gave up waiting for this worker (stuck in a send): its batch was counted as
        #: dropped, so whatever it does afterwards must count nothing.
        self.abandoned = False
        #: Records this worker took from the queue and has not counted yet (sent or dropped).
        self.inflight = 0

    def nudge(self) -> None:
        """A full batch is queued: wake the worker, unless a token is waiting already."""
        if not self.woken:
            self.woken = True
            self.wake.put(None)

    def poke(self) -> None:
        """A flush or a close: wake the worker."""
        self.wake.put(None)

    def sleep(self, timeout: float) -> None:
        """The worker waits for a token or ``timeout``, then takes the tokens that came meanwhile."""
        try:
            self.wake.get(timeout=timeout)
            for _ in range(self.wake.qsize()):
                self.wake.get_nowait()
        except queues.Empty:
            pass
        self.woken = False

    def back_off(self, seconds: float) -> None:
        """The worker waits ``seconds`` before trying again, or less if close gives up."""
        deadline = time.monotonic() + seconds
        while not self.give_up:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                self.wake.get(timeout=left)
            except queues.Empty:
                return


class QueuedSink(Sink):
    """Base class: subclasses implement ``deliver(batch)`` (and may override ``close_connection``).

    ``deliver`` gets a list of encoded lines (bytes, newline-terminated) and returns when the
    destination accepted them; it raises ``Retry`` or ``Reject`` (``logmagic.transport.retry``),
    as the transport clients do. Any other exception counts as ``Retry``.
    """

    def __init__(
        self,
        *,
        queue_size: int = QUEUE_SIZE,
        queue_bytes: int = QUEUE_BYTES,
        batch_size: int = 500,
        batch_age: float = 0.2,
        block_ms: float = 0.0,
        max_backoff: float = 30.0,
        encoder: Any = None,
    ) -> None:
        if min(queue_size, queue_bytes, batch_size) < 1 or batch_age <= 0 or block_ms < 0 or max_backoff <= 0:
            raise ValueError(
                "queue_size, queue_bytes and batch_size must be >= 1, batch_age and max_backoff > 0, block_ms >= 0"
            )
        self.queue_size = queue_size
        self.queue_bytes = queue_bytes
        self.batch_size = batch_size
        self.batch_age = batch_age
        self.block_ms = block_ms
        self.max_backoff = max_backoff
        self._encode = (encoder or GelfEncoder()).encode
        #: Set by ``discard``, under ``_start_lock``; never cleared, not even after fork.
        self._discarded = False
        self._fresh_state()

    def _fresh_state(self) -> None:
        self._queue: collections.deque[bytes] = collections.deque()
        #: Bytes of the lines in ``_queue``, and of lines a caller is about to append: a caller
        #: adds its line's length before it appends, the worker (and close) subtract what they
        #: take, under ``_claim``. No lock, like the other counters: CPython switches threads
        #: and runs signal handlers at calls and backward jumps, never inside ``x += n`` on ints.
        self._queued_bytes = 0
        self._ctl = _Control()
        self._start_lock = threading.RLock()
        self._starting = False
        self._worker: threading.Thread | None = None
        #: Held to take a batch from the queue, to count a batch in flight (as sent or dropped),
        #: and by close to count what is left: each record is counted once, whichever worker
        #: (one stuck in a send, and the one started after a close) holds it. Taken only by
        #: workers and by close (reentrant, for a signal handler that calls ``shutdown()``).
        self._claim = threading.RLock()
        self.queued = 0
        self.sent = 0
        self.retried = 0
        self.dropped = 0
        self._unreported_drops = 0
        self._late_failed = False  # a delivery after the exit flush failed: drop at once

    # -- the caller's side -------------------------------------------------------------------

    def takes_gelf_lines(self) -> bool:
        """GELF lines, queued by ``enqueue``, when this sink encodes records with the stock
        ``GelfEncoder`` and a subclass has not changed how a record is queued."""
        return (
            type(self).emit is QueuedSink.emit
            and type(self).enqueue is QueuedSink.enqueue
            and type(getattr(self._encode, "__self__", None)) is GelfEncoder
        )

    def emit(self, record: Record) -> None:
        if not (_exited and self._refuse_late()):  # a late record is dropped before it is encoded
            self.enqueue(self._encode(record))

    def _refuse_late(self) -> bool:
        """After the exit flush, when a late delivery failed: count and report the drop (True)."""
        if not self._late_failed:
            return False
        self.dropped += 1
        REPORTER.lost(self.name, "logged after the exit flush, the destination being down")
        REPORTER.report_now()
        return True

    def enqueue(self, line: bytes) -> None:
        """Queue one encoded line for the worker. Never raises.

        ``emit`` encodes its record and comes here; the loggers' direct GELF path
        (``logmagic.call_paths.make_gelf_line``) comes here with the line it made itself.
        """
        if _exited and self._refuse_late():
            return
        if self._discarded:
            self.dropped += 1
            REPORTER.lost(self.name, DISCARDED)
            return
        queue = self._queue
        size = len(line)
        # The room is taken before it is checked: threads racing here may each be refused
        # (and some count above the bound for an instant), but the queue never holds more.
        self._queued_bytes += size
        if self._queued_bytes > self.queue_bytes or len(queue) >= self.queue_size:
            self._queued_bytes -= size
            if not self._wait_for_room(size):
                self.dropped += 1
                self._unreported_drops += 1
                REPORTER.lost(self.name, "queue full")
                return
        queue.append(line)
        self.queued += 1
        if self._worker is None:
            self._start()
        if len(queue) >= self.batch_size:
            self._ctl.nudge()
        if _exited:
            self._deliver_late()

    def _wait_for_room(self, size: int) -> bool:
        """With ``block_ms``: wait up to that long for room for ``size`` more bytes and one more
        record. True: the room is taken (counted in ``_queued_bytes``); False: drop the record."""
        if self.block_ms <= 0:
            return False
        deadline = time.monotonic() + self.block_ms / 1000
        self._ctl.nudge()
        while True:
            self._queued_bytes += size
            if self._queued_bytes <= self.queue_bytes and len(self._queue) < self.queue_size:
                return True
            self._queued_bytes -= size
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.001)

    def _start(self) -> None:
        with self._start_lock:
            if self._discarded:
                # A record appended while ``discard`` ran: nobody will send it, now or later.
                self._drop_queued(DISCARDED)
                return
            # The lock is reentrant, so a signal handler that logs while this thread is starting
            # the worker gets here too: it must not start a second one (its record is queued).
            if self._starting or (self._worker is not None and self._worker.is_alive()):
                return
            self._starting = True
            try:
                self._worker = threading.Thread(
                    target=self._run, args=(self._ctl,), name=f"logmagic-{self.name or 'sink'}", daemon=True
                )
                self._worker.start()
            finally:
                self._starting = False

    # -- the worker --------------------------------------------------------------------------

    def _run(self, ctl: _Control) -> None:
        while True:
            batch = self._next_batch(ctl)
            if batch is None:
                return
            self._deliver_with_retry(batch, ctl)
            if ctl.abandoned:
                return

    def _next_batch(self, ctl: _Control) -> list[bytes] | None:
        """Wait for a full batch, the batch age, a flush or a close; None: stopped and empty."""
        queue = self._queue
        first_seen: float | None = None
        while True:
            n = len(queue)
            if n >= self.batch_size or (n and (ctl.urgent or ctl.stop)):
                break
            if n:
                now = time.monotonic()
                if first_seen is None:
                    first_seen = now
                elif now - first_seen >= self.batch_age:
                    break
                wait = self.batch_age - (now - first_seen)
            else:
                if ctl.stop:
                    return None
                ctl.urgent = False
                first_seen = None
                wait = IDLE_POLL
            ctl.sleep(min(wait, IDLE_POLL))
        with self._claim:
            size = min(len(queue), self.batch_size)
            ctl.inflight = size  # before popping, so a flush never sees "nothing pending" between the two
            batch = [queue.popleft() for _ in range(size)]
            self._queued_bytes -= sum(map(len, batch))
            return batch

    def _deliver_with_retry(self, batch: list[bytes], ctl: _Control) -> None:
        backoff = 0.0
        failed = False
        while True:
            try:
                self.deliver(batch)
            except Reject as exc:
                self._settle(batch, ctl, f"rejected: {exc}")
                return
            except Exception as exc:
                if ctl.abandoned:
                    return
                self.retried += 1
                failed = True
                if ctl.give_up:
                    self._settle(batch, ctl, f"undelivered at close: {describe_exception(exc)}")
                    return
                backoff = next_backoff(backoff, 0.05, self.max_backoff)
                ctl.back_off(min(retry_delay(exc, backoff), self.max_backoff))
                continue
            if self._settle(batch, ctl) and failed:
                self._recovered()
            return

    def _settle(self, batch: list[bytes], ctl: _Control, dropped: str | None = None) -> bool:
        """Count the batch in flight as sent, or as dropped for the reason ``dropped``.

        False, counting nothing, when close has counted it already (it gave up on this worker).
        """
        with self._claim:
            if ctl.abandoned:
                return False
            if dropped is None:
                self.sent += len(batch)
            else:
                self._drop_batch(batch, dropped)
            ctl.inflight = 0
        return True

    def _drop_batch(self, batch: list[bytes], reason: str) -> None:
        self.dropped += len(batch)
        self._unreported_drops += len(batch)
        REPORTER.lost(self.name, reason, len(batch))

    def _recovered(self) -> None:
        """Delivery works again: say, as a record, how many records were lost meanwhile."""
        lost, self._unreported_drops = self._unreported_drops, 0
        if lost and _logger_factory is not None:
            _logger_factory("logmagic.delivery").warning(
                "records were dropped while the destination was unavailable", sink=self.name, dropped=lost
            )

    def deliver(self, batch: list[bytes]) -> None:
        """Send ``batch``; raise ``Retry`` or ``Reject`` when it was not accepted."""
        raise NotImplementedError

    def close_connection(self) -> None:
        """Release the connection (called from the worker's thread at close, and after fork)."""

    # -- lifecycle ---------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the queue is empty and nothing is in flight, or ``timeout`` passes."""
        deadline = time.monotonic() + (timeout if timeout is not None else 5.0)
        poked: _Control | None = None
        while self._queue or self._ctl.inflight:
            if self._worker is None or not self._worker.is_alive():
                self._start()
            ctl = self._ctl
            ctl.urgent = True  # again each time: the worker clears it when the queue is empty
            if poked is not ctl:  # one token per worker, not one per look
                poked = ctl
                ctl.poke()
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self, timeout: float | None = None) -> None:
        """Flush within ``timeout``, then stop the worker; what is left is dropped and counted.

        The next record starts a new worker: ``shutdown()`` and the exit flush close the sinks
        of the configuration, which may still be logged to afterwards.
        """
        self.flush(timeout if timeout is not None else 5.0)
        self._stop(for_good=False)

    def discard(self, timeout: float | None = None) -> None:
        """Close for good: the configuration dropped this sink (``reset()``, a replaced name).

        What is queued is delivered within ``timeout``, as by ``close``. Afterwards no worker
        starts again, whichever thread logs: a level method taken before the change still
        reaches this sink, and its records are counted as dropped and reported.
        """
        self.flush(timeout if timeout is not None else 5.0)
        self._stop(for_good=True)

    def _stop(self, for_good: bool) -> None:
        # Under the start lock: a worker being started meanwhile is the one stopped here, and
        # once ``_discarded`` is set no thread starts another.
        with self._start_lock:
            if for_good:
                self._discarded = True
            worker, ctl = self._worker, self._ctl
            self._ctl = _Control()  # a worker started after this close obeys new events
            self._worker = None
        ctl.stop = ctl.give_up = True
        ctl.poke()
        if worker is not None:
            worker.join(0.5)
        with self._claim:
            left = self._take_all()
            if worker is not None and worker.is_alive() and ctl.inflight:
                # Stuck in a send (a collector that accepts and never answers). It is a daemon
                # thread and ends with the process; its batch is lost and counted here, once.
                ctl.abandoned = True
                left += ctl.inflight
        if left:
            self.dropped += left
            REPORTER.lost(self.name, "undelivered at close", left)
        self.close_connection()

    def _take_all(self) -> int:
        """Empty the queue (the caller holds ``_claim``); how many lines it held."""
        queue = self._queue
        taken = 0
        while queue:  # one by one: a caller may append meanwhile, and each line's bytes go with it
            self._queued_bytes -= len(queue.popleft())
            taken += 1
        return taken

    def _drop_queued(self, reason: str) -> None:
        """Count and report what is queued as dropped, and empty the queue."""
        with self._claim:
            left = self._take_all()
        if left:
            self.dropped += left
            REPORTER.lost(self.name, reason, left)

    def _deliver_late(self) -> None:
        """After the exit flush: deliver what is queued now, or count and report it as dropped."""
        if threading.current_thread() is self._worker:
            return  # the worker's own record (a recovery notice): it sends it next
        if self.flush(LATE_TIMEOUT):
            return
        self._late_failed = True  # the destination is down: later records are not waited for
        self.close(0.0)  # counts what is queued or in flight as dropped
        REPORTER.report_now()

    def after_fork(self) -> None:
        """The child has no worker thread: start over empty, with a connection of its own."""
        self._fresh_state()
        self.close_connection()

    def stats(self) -> dict[str, int]:
        return {
            "queued": self.queued,
            "sent": self.sent,
            "retried": self.retried,
            "dropped": self.dropped,
            "pending": len(self._queue) + self._ctl.inflight,
            "pending_bytes": self._queued_bytes,
        }
