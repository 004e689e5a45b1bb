"""The file sink: one line per record appended to a file, following logrotate.

The file is opened with ``O_APPEND``, so every line lands whole at the end even when other
processes append too. Once a second (by record time) the sink checks whether the path still
names the file it has open; when the file was moved or deleted (logrotate's ``create`` mode)
it opens a new one. ``logmagic.reopen()`` forces that, for a SIGHUP handler.
"""

from __future__ import annotations

import os

from logmagic._report import warn
from logmagic.record import Record
from logmagic.sinks.stream import FdSink, _write_rest

_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
#: Seconds between two checks that the path still names the open file.
CHECK_INTERVAL = 1.0


class FileSink(FdSink):
    """Append records to ``path`` as GELF (default), JSON or console lines."""

    def __init__(self, path: str, fmt: str = "gelf", mode: int = 0o644) -> None:
        directory = os.path.dirname(os.path.abspath(path)) or "."
        if not os.path.isdir(directory):
            raise ValueError(f"file sink {path!r}: directory {directory!r} does not exist")
        self.path = os.path.abspath(path)
        self.mode = mode
        super().__init__(-1, fmt, color=False)
        self._ident: tuple[int, int] = (0, 0)
        self._next_check = 0.0
        try:
            self._open()
        except OSError as exc:
            raise ValueError(f"file sink {path!r}: cannot open: {exc.strerror or exc}") from None

    def _open(self) -> int:
        fd = os.open(self.path, _FLAGS, self.mode)
        st = os.fstat(fd)
        self.fd = fd
        self._ident = (st.st_dev, st.st_ino)
        return fd

    def _close_fd(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass

    def emit(self, record: Record) -> None:
        line = self._encode(record)
        lock = self._lock
        lock.acquire()
        try:
            # The record's time paces the rotation check: no clock call per line.
            if self.fd < 0 or record.timestamp >= self._next_check:
                self._follow(record.timestamp)
            n = os.write(self.fd, line)
            if n != len(line):
                _write_rest(self.fd, line, n)
            self.written += 1
        except OSError as exc:
            self._lost(exc)
        finally:
            lock.release()

    def _follow(self, now: float) -> None:
        """Open the file if closed; reopen it if the path now names another file or none."""
        self._next_check = now + CHECK_INTERVAL
        if self.fd >= 0:
            try:
                st = os.stat(self.path)
                if (st.st_dev, st.st_ino) == self._ident:
                    return
            except FileNotFoundError:
                pass
            self._close_fd()
        self._open()

    def reopen(self) -> None:
        """Close the file and open the path again (after rotation, or on SIGHUP)."""
        with self._lock:
            self._close_fd()
            try:
                self._open()
            except OSError as exc:
                warn(f"sink {self.name!r}: cannot reopen {self.path}: {exc.strerror or exc}")

    def flush(self, timeout: float | None = None) -> bool:
        return True  # every line is written by the time emit returns

    def close(self, timeout: float | None = None) -> None:
        """Close the file; the next record opens it again."""
        with self._lock:
            self._close_fd()
