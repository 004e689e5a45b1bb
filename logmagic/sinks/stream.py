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

import itertools
import math
import os
import stat
import threading
import time
from typing import Protocol

from logmagic._report import REPORTER
from logmagic.encode import ConsoleEncoder, GelfEncoder, JsonEncoder
from logmagic.record import Record
from logmagic.sinks.base import Sink

#: Seconds (of record time) between two looks at what the descriptor is (and, for the file
#: sink, whether the path still names the open file).
CHECK_INTERVAL = 1.0


def _device_of(path: str) -> int | None:
    try:
        return os.stat(path).st_rdev
    except OSError:
        return None


_DEV_NULL = _device_of(os.devnull)


def keeps_writes_whole(fd: int) -> bool:
    """Whether the kernel keeps each write to ``fd`` whole, whatever its size.

    True for regular files (the write happens under the file's lock, also with ``O_APPEND``)
    and /dev/null. False for pipes, FIFOs and sockets, which promise it only up to
    ``PIPE_BUF`` bytes; for terminals, which end a write early when a signal arrives (another
    thread's line would then land inside it); and when unsure.
    """
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) or (stat.S_ISCHR(st.st_mode) and st.st_rdev == _DEV_NULL)


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
    """

    def __init__(self, fd: int = 2, fmt: str = "gelf", color: bool | None = None) -> None:
        self.fd = fd
        self.format = fmt
        self._encode = make_encoder(fmt, wants_color(fd) if color is None else color).encode
        self._lock = threading.RLock()
        #: Records stamped from ``look_from`` up to ``next_check`` (unix seconds, a second
        #: either side of the last look) need no look at the descriptor; others look first.
        self.look_from = math.inf
        self.next_check = -math.inf
        #: Records stamped from ``look_from`` up to this time may be written without the lock:
        #: ``next_check`` where writes stay whole, never on a pipe, socket or terminal.
        self.free_until = -math.inf
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
        lock = self._lock
        lock.acquire()
        try:
            if not self.look_from <= timestamp < self.next_check:
                self._look(timestamp)
            n = os.write(self.fd, line)
            if n != len(line):
                _write_rest(self.fd, line, n)
            next(self.written_counter)
        except OSError as exc:
            self.lost(exc)
        finally:
            lock.release()

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
        self.free_until = self.next_check if keeps_writes_whole(self.fd) else -math.inf

    def reopen(self) -> None:
        """Look at the descriptor again with the next record (after fd 2 was pointed elsewhere)."""
        with self._lock:
            self.next_check = self.free_until = -math.inf

    def finish(self, line: bytes, done: int) -> bool:
        """Write the rest of a line the kernel cut short (a signal, a full disk). Never raises.

        False when that failed: the line is then counted as dropped, not written.
        """
        with self._lock:
            try:
                _write_rest(self.fd, line, done)
            except OSError as exc:
                self.lost(exc)
                return False
        return True

    def lost(self, exc: OSError) -> None:
        """Count and report a line that could not be written."""
        with self._lock:
            self.dropped += 1
        REPORTER.lost(self.name, f"{exc.strerror or exc}")

    @property
    def written(self) -> int:
        """Lines written so far."""
        with self._lock:
            value = next(self.written_counter) - self._reads
            self._reads += 1
        return value

    def stats(self) -> dict[str, int]:
        return {"written": self.written, "dropped": self.dropped}

    def after_fork(self) -> None:
        self._lock = threading.RLock()


def _write_rest(fd: int, line: bytes, done: int) -> None:
    """Finish a short write (a signal, a full pipe): the line must go out whole."""
    view = memoryview(line)
    while done < len(line):
        done += os.write(fd, view[done:])


class StderrSink(FdSink):
    """GELF (or another format) on fd 2: the production path under runit/svlogd."""

    def __init__(self, fmt: str = "gelf", color: bool | None = None) -> None:
        super().__init__(2, fmt, color)


class ConsoleSink(FdSink):
    """Readable lines on fd 2, colored by level on a terminal unless NO_COLOR is set."""

    def __init__(self, color: bool | None = None) -> None:
        super().__init__(2, "console", color)
