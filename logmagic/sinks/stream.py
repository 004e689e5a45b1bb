"""Sinks that write whole lines to a file descriptor: stderr (GELF or console) and files.

Each record is encoded outside any lock and written with one ``os.write``. Where the kernel
keeps every write whole against other writers, whatever its size (a regular file, /dev/null),
the write takes no lock. On a pipe or a socket (svlogd, a container runtime, journald) only
writes up to ``PIPE_BUF`` bytes are kept whole, and a terminal cuts a write short when a
signal arrives, so there every line takes the sink's lock: a long line could otherwise be
split by another thread's line. What the descriptor is gets looked at again once a second
(paced by record time), since a process may point fd 2 elsewhere after the sink was made; a
record stamped outside the second around the last look (the clock was set back, or a bridge
forwarded an old record) looks again at once. The rare write the kernel cuts short (a full
disk) is finished under the lock. Write errors (a broken pipe, a full disk) are counted and
reported, never raised.
"""

from __future__ import annotations

import errno
import itertools
import math
import os
import threading
import time
from typing import Protocol

from logmagic import _fdio
from logmagic._fdio import EXIT, BoundedWriter, keeps_writes_whole
from logmagic._report import REPORTER
from logmagic.encode import ConsoleEncoder, GelfEncoder, JsonEncoder
from logmagic.record import Record
from logmagic.sinks.base import Sink

__all__ = ["CHECK_INTERVAL", "ConsoleSink", "Encoder", "FdSink", "StderrSink", "make_encoder", "wants_color"]

#: Seconds (of record time) between two looks at what the descriptor is (and, for the file
#: sink, whether the path still names the open file).
CHECK_INTERVAL = 1.0


class Encoder(Protocol):
    """Anything that turns a record into a newline-terminated line of bytes, never raising."""

    def encode(self, rec: Record) -> bytes: ...


def make_encoder(fmt: str, color: bool = False) -> Encoder:
    """The encoder for a format name: ``gelf``, ``json`` or ``console``."""
    if fmt == "gelf":
        return GelfEncoder()
    if fmt == "json":
        return JsonEncoder()
    if fmt == "console":
        return ConsoleEncoder(color)
    raise ValueError(f"unknown format {fmt!r}: expected gelf, json or console")


def wants_color(fd: int) -> bool:
    """Color on a terminal unless NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return os.isatty(fd)
    except OSError:
        return False


class FdSink(Sink):
    """Writes each record as one line to a file descriptor it does not own (stderr).

    The descriptor number never changes while the sink lives (the file sink swaps the file
    behind it with ``dup2``), so a writer that read it without the lock never writes to a
    descriptor that was closed and handed to someone else.

    ``block`` is what a full pipe (svlogd stuck on a full disk, a reader that stopped) does to
    the caller: None (the default) waits as long as it takes, letting the reader push back, as
    svlogd is meant to; a number of milliseconds waits at most that long, then drops the line
    and counts it. Once the exit flush has started, no write waits more than
    ``logmagic._fdio.EXIT_WAIT`` seconds, and after one such wait has run out the rest drop
    without waiting, so exit never hangs on stderr.

    A line the descriptor took only part of (a full disk, a wait that ran out) cannot be
    taken back; the next line then starts with a newline, so the torn line stands alone and
    the next record is whole. The torn line is counted as dropped.
    """

    def __init__(self, fd: int = 2, fmt: str = "gelf", color: bool | None = None, block: float | None = None) -> None:
        if block is not None and not (block >= 0 and math.isfinite(block)):
            raise ValueError(
                f"block must be a number of milliseconds >= 0, or None to wait without limit, not {block!r}"
            )
        self.fd = fd
        self.format = fmt
        self.block = block
        #: A wait limit, or a torn line owed its newline: lines take ``_put``, not the plain write.
        self._careful = block is not None
        self._count_lock = threading.Lock()  # for ``dropped``; never held across a write
        self._encode = make_encoder(fmt, wants_color(fd) if color is None else color).encode
        #: Held for a write that must not interleave with another (see ``lock_until``).
        #: Reentrant: a signal handler may log while its thread holds it.
        self.line_lock = threading.RLock()
        self._writer = BoundedWriter(fd)
        #: A line was cut short and not finished: the next write starts with a newline.
        self._torn = False
        #: At exit, a wait for room ran out: later lines drop without waiting.
        self._given_up = False
        #: Records stamped from ``look_from`` up to ``next_check`` (unix seconds, a second
        #: either side of the last look) need no look at the descriptor; others look first.
        self.look_from = math.inf
        self.next_check = -math.inf
        #: Records stamped from ``look_from`` up to this time may be written without the lock:
        #: ``next_check`` where writes stay whole, never on a pipe, socket or terminal, nor
        #: while a torn line waits for its newline.
        self.free_until = -math.inf
        #: Records stamped from ``look_from`` up to this time are written under ``line_lock``
        #: with one plain write that waits for room (``locked_write``): ``next_check`` on a
        #: pipe, socket or terminal without a wait limit, else never (``write_line`` decides).
        self.lock_until = -math.inf
        #: ``next()`` on it counts a written line: one C call, so threads count without a
        #: lock and lose nothing.
        self.written_counter = itertools.count()
        self._reads = 0  # values next() handed to stats() rather than to a write
        self.dropped = 0

    def emit(self, record: Record) -> None:
        self.write_line(self._encode(record), record.timestamp)

    def write_line(self, line: bytes, timestamp: float) -> None:
        """Write one encoded line whose record was made at ``timestamp``. Never raises."""
        if self.look_from <= timestamp < self.free_until:
            try:
                n = os.write(self.fd, line)
            except OSError as exc:
                self.lost(exc)
                return
            if n == len(line) or self.finish(line, n):
                next(self.written_counter)
            return
        lock = self.line_lock
        careful = self._careful or EXIT.started  # a wait limit, a torn line or exit: see _put
        if not (lock.acquire(True, self._lock_timeout()) if careful else lock.acquire()):
            self.lost(BlockingIOError(errno.EAGAIN, "another writer held the sink longer than the wait allowed"))
            return
        try:
            if not self.look_from <= timestamp < self.next_check:
                self._look(timestamp)
            if careful:
                self._put(line)
            else:
                self.locked_write(line, -1)
                return
            next(self.written_counter)
        except OSError as exc:
            self.lost(exc)
        finally:
            lock.release()

    def locked_write(self, line: bytes, done: int) -> None:
        """Under ``line_lock``, with no wait limit: write the line whole from byte ``done`` on
        (-1: nothing tried yet), waiting for room as the default policy says (a blocking
        descriptor blocks in the write; one made non-blocking by whoever shares it waits in
        ``_rest``). Counts it. Never raises.

        The loggers' direct GELF methods call this, after a write of their own came out short
        or failed, for records stamped before ``lock_until`` while the exit flush has not started.
        """
        try:
            if done < 0:
                try:
                    done = os.write(self.fd, line)
                except BlockingIOError:
                    done = 0
            if done != len(line):
                self._rest(line, done, None)
        except OSError as exc:
            self.lost(exc)
            return
        next(self.written_counter)

    def _lock_timeout(self) -> float:
        """Seconds a careful writer waits for the lock (another thread's write): -1 for ever."""
        wait = self._wait()
        return -1.0 if wait is None else wait

    def _put(self, line: bytes) -> None:
        """Under the lock, the careful way: after the newline a torn line is owed, within the
        wait the policy (or exit) allows.

        Raises ``OSError`` when the line did not go out whole (it is then dropped); a part
        that did go out leaves the line torn.
        """
        data = b"\n" + line if self._torn else line
        wait = self._wait()
        self._rest(data, 0, None if wait is None else time.monotonic() + wait)

    def _wait(self) -> float | None:
        """Seconds a write may wait for room: None without limit (see ``block``)."""
        limit = None if self.block is None else self.block / 1000
        if EXIT.started:
            if self._given_up:
                return 0.0
            return _fdio.EXIT_WAIT if limit is None else min(limit, _fdio.EXIT_WAIT)
        return limit

    def _rest(self, data: bytes, done: int, deadline: float | None) -> None:
        """Under the lock: write ``data`` from byte ``done`` on, waiting up to ``deadline``."""
        try:
            done += self._writer.write(memoryview(data)[done:], deadline)
        except OSError:
            self._tear(done)
            raise
        if done < len(data):
            self._tear(done)
            if EXIT.started:
                self._given_up = True
            raise self._writer.last_error or BlockingIOError(errno.EAGAIN, f"no room within {self._wait_text()}")
        self._torn = False
        self._careful = self.block is not None

    def _tear(self, done: int) -> None:
        """A line went out in part (``done`` bytes of it): the next one must start afresh."""
        if done:
            self._torn = self._careful = True
            self.free_until = self.lock_until = -math.inf  # those writers would not add the newline

    def _wait_text(self) -> str:
        return "the exit wait" if EXIT.started or self.block is None else f"{self.block:g} ms"

    def _look(self, now: float) -> None:
        """Under the lock, when a look is due: do writes to the descriptor stay whole?

        The file sink also follows rotation here. A record stamped in the future (``forward``
        with a timestamp ahead) must not put the next look off, hence the clock's time too; nor
        may an infinite or NaN one (NaN compares false with everything, hence not ``min()``).
        """
        clock = time.time()
        at = now if -math.inf < now <= clock else clock
        self.look_from = at - CHECK_INTERVAL
        self.next_check = at + CHECK_INTERVAL
        whole = not self._torn and keeps_writes_whole(self.fd)
        self.free_until = self.next_check if whole else -math.inf
        self.lock_until = self.next_check if not whole and not self._careful else -math.inf

    def reopen(self) -> None:
        """Look at the descriptor again with the next record (after fd 2 was pointed elsewhere).

        Without the lock: a writer stuck on a full pipe holds it, and a SIGHUP handler calling
        this must not wait for it.
        """
        self._look_again()

    def _look_again(self) -> None:
        """Make the next record look at the descriptor before it is written."""
        self.next_check = self.free_until = self.lock_until = -math.inf

    def finish(self, line: bytes, done: int) -> bool:
        """Write the rest of a line the kernel cut short (a full disk). Never raises.

        Called by writers that took no lock. False when that failed: the line is then counted
        as dropped, and the next line starts with a newline.
        """
        with self.line_lock:
            try:
                self._rest(line, done, time.monotonic() + (self._wait() or 0.0))
            except OSError as exc:
                self.lost(exc)
                return False
        return True

    def lost(self, exc: OSError) -> None:
        """Count and report a line that could not be written (without the sink's lock, which a
        stuck writer may hold)."""
        with self._count_lock:
            self.dropped += 1
        REPORTER.lost(self.name, f"{exc.strerror or exc}")

    @property
    def written(self) -> int:
        """Lines written so far."""
        with self._count_lock:
            value = next(self.written_counter) - self._reads
            self._reads += 1
        return value

    def stats(self) -> dict[str, int]:
        return {"written": self.written, "dropped": self.dropped}

    def takes_gelf_lines(self) -> bool:
        """GELF lines, written by ``write_line`` (or by the loggers' copy of its first two
        branches, which reads ``look_from``, ``free_until``, ``lock_until``, ``line_lock``, ``fd``
        and ``written_counter`` and calls ``finish`` and ``locked_write``), as long as a subclass
        has not changed how a record is written."""
        return self.format == "gelf" and type(self).emit is FdSink.emit and type(self).write_line is FdSink.write_line

    def after_fork(self) -> None:
        self.line_lock = threading.RLock()
        self._count_lock = threading.Lock()


class StderrSink(FdSink):
    """GELF (or another format) on fd 2: the production path under runit/svlogd."""

    def __init__(self, fmt: str = "gelf", color: bool | None = None, block: float | None = None) -> None:
        super().__init__(2, fmt, color, block)


class ConsoleSink(FdSink):
    """Readable lines on fd 2, colored by level on a terminal unless NO_COLOR is set."""

    def __init__(self, color: bool | None = None, block: float | None = None) -> None:
        super().__init__(2, "console", color, block)
