"""Sinks that write whole lines to a file descriptor: stderr (GELF or console) and files.

Each record is encoded outside the lock, then written with one ``os.write`` under the sink's
lock, so lines from many threads never interleave. Write errors (a broken pipe, a full disk)
are counted and reported, never raised.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

from logmagic._report import REPORTER
from logmagic.encode import ConsoleEncoder, GelfEncoder, JsonEncoder
from logmagic.record import Record
from logmagic.sinks.base import Sink


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
    """Writes each record as one line to a file descriptor it does not own (stderr)."""

    def __init__(self, fd: int = 2, fmt: str = "gelf", color: bool | None = None) -> None:
        self.fd = fd
        self.format = fmt
        self._encode = make_encoder(fmt, wants_color(fd) if color is None else color).encode
        self._lock = threading.RLock()
        self.written = 0
        self.dropped = 0

    def emit(self, record: Record) -> None:
        line = self._encode(record)
        lock = self._lock
        lock.acquire()
        try:
            n = os.write(self.fd, line)
            if n != len(line):
                _write_rest(self.fd, line, n)
            self.written += 1
        except OSError as exc:
            self._lost(exc)
        finally:
            lock.release()

    def _lost(self, exc: OSError) -> None:
        self.dropped += 1
        REPORTER.lost(self.name, f"{exc.strerror or exc}")

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
