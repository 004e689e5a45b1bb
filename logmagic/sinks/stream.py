"""Sinks that write whole lines to a file descriptor: stderr (GELF or console) and files.

Each record is encoded outside any lock and written with one ``os.write``. A line of at most
``PIPE_BUF`` bytes (4096 on Linux) is written without a lock: the kernel already keeps such a
write whole against other writers, on a pipe (svlogd, a container runtime), a terminal and a
file opened with ``O_APPEND``. Longer lines, and the rare write that the kernel cut short, are
finished under the sink's lock, so lines from many threads never interleave. Write errors (a
broken pipe, a full disk) are counted and reported, never raised.
"""

from __future__ import annotations

import itertools
import math
import os
import select
import threading
from typing import Protocol

from logmagic._report import REPORTER
from logmagic.encode import ConsoleEncoder, GelfEncoder, JsonEncoder
from logmagic.record import Record
from logmagic.sinks.base import Sink

#: Lines up to this size are written without the lock (POSIX keeps them whole on a pipe).
PIPE_BUF: int = getattr(select, "PIPE_BUF", 4096)


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

    #: Record time from which the next write must take the locked path (the file sink's
    #: rotation check; a closed file sink sets it to 0). Never, for a plain descriptor.
    next_check: float = math.inf

    def __init__(self, fd: int = 2, fmt: str = "gelf", color: bool | None = None) -> None:
        self.fd = fd
        self.format = fmt
        self._encode = make_encoder(fmt, wants_color(fd) if color is None else color).encode
        self._lock = threading.RLock()
        # next() on itertools.count is one C call: threads count without a lock and lose nothing.
        self._written = itertools.count()
        self.count_written = self._written.__next__
        self._reads = 0  # values next() handed to stats() rather than to a write
        self.dropped = 0

    def emit(self, record: Record) -> None:
        self.write_line(self._encode(record), record.timestamp)

    def write_line(self, line: bytes, timestamp: float) -> None:
        """Write one encoded line whose record was made at ``timestamp``. Never raises."""
        if len(line) <= PIPE_BUF and timestamp < self.next_check:
            try:
                n = os.write(self.fd, line)
            except OSError as exc:
                self.lost(exc)
                return
            if n != len(line):
                self.finish(line, n)
            self.count_written()
            return
        lock = self._lock
        lock.acquire()
        try:
            self._prepare(timestamp)
            n = os.write(self.fd, line)
            if n != len(line):
                _write_rest(self.fd, line, n)
            self.count_written()
        except OSError as exc:
            self.lost(exc)
        finally:
            lock.release()

    def _prepare(self, timestamp: float) -> None:
        """Under the lock, before a write on the locked path: the file sink follows rotation here."""

    def finish(self, line: bytes, done: int) -> None:
        """Write the rest of a line the kernel cut short (a signal, a full disk). Never raises."""
        with self._lock:
            try:
                _write_rest(self.fd, line, done)
            except OSError as exc:
                self.lost(exc)

    def lost(self, exc: OSError) -> None:
        """Count and report a line that could not be written."""
        with self._lock:
            self.dropped += 1
        REPORTER.lost(self.name, f"{exc.strerror or exc}")

    @property
    def written(self) -> int:
        """Lines written so far."""
        with self._lock:
            value = next(self._written) - self._reads
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
