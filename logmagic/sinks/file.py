"""The file sink: one line per record appended to a file, following logrotate.

The file is opened with ``O_APPEND``, so every line lands whole at the end even when other
processes append too. Once a second (by record time) the sink checks whether the path still
names the file it has open; when the file was moved or deleted (logrotate's ``create`` mode)
it opens a new one. ``logmagic.reopen()`` forces that, for a SIGHUP handler.

The sink keeps one descriptor number for its whole life: a new file is put behind it with
``dup2``, and ``close()`` puts /dev/null behind it (releasing the file) until the next record
reopens the path. Writers that skip the lock therefore never hit a number that was closed and
reused for another file or socket. The cost: a record written by another thread at the very
instant of ``close()`` may go to /dev/null.
"""

from __future__ import annotations

import math
import os
import weakref

from logmagic._report import warn
from logmagic.sinks.stream import FdSink

_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class FileSink(FdSink):
    """Append records to ``path`` as GELF (default), JSON or console lines."""

    def __init__(self, path: str, fmt: str = "gelf", mode: int = 0o644) -> None:
        directory = os.path.dirname(os.path.abspath(path)) or "."
        if not os.path.isdir(directory):
            raise ValueError(f"file sink {path!r}: directory {directory!r} does not exist")
        self.path = os.path.abspath(path)
        self.mode = mode
        try:
            fd, self._ident = self._open_path()
        except OSError as exc:
            raise ValueError(f"file sink {path!r}: cannot open: {exc.strerror or exc}") from None
        super().__init__(fd, fmt, color=False)
        #: True after close(): /dev/null is behind the descriptor until the next record.
        self.closed = False
        # The descriptor goes with the sink; at exit the OS closes it, after the last record.
        weakref.finalize(self, os.close, fd).atexit = False

    def _open_path(self) -> tuple[int, tuple[int, int]]:
        fd = os.open(self.path, _FLAGS, self.mode)
        st = os.fstat(fd)
        return fd, (st.st_dev, st.st_ino)

    def _swap(self, fd: int) -> None:
        """Put the file open on ``fd`` behind the sink's descriptor, and close ``fd``."""
        try:
            os.dup2(fd, self.fd, inheritable=False)
        finally:
            os.close(fd)

    def _open(self) -> None:
        fd, ident = self._open_path()
        self.free_until = -math.inf  # the next record looks at what the new file is
        self._swap(fd)
        self._ident = ident
        self.closed = False
        self.next_check = -math.inf

    def _look(self, now: float) -> None:
        # The record's time paces the rotation check: no clock call per line.
        self._follow(now)
        super()._look(now)

    def _follow(self, now: float) -> None:
        """Reopen the file if it was closed, or if the path now names another file or none."""
        if not self.closed:
            try:
                st = os.stat(self.path)
                if (st.st_dev, st.st_ino) == self._ident:
                    return
            except FileNotFoundError:
                pass
        # Until a file is open again every record comes here: an OSError from _open drops
        # this record (counted) and the next record tries again.
        self.next_check = self.free_until = -math.inf
        self._open()

    def reopen(self) -> None:
        """Open the path again at once (after rotation, or on SIGHUP)."""
        with self._lock:
            try:
                self._open()
            except OSError as exc:
                warn(f"sink {self.name!r}: cannot reopen {self.path}: {exc.strerror or exc}")

    def flush(self, timeout: float | None = None) -> bool:
        return True  # every line is written by the time emit returns

    def close(self, timeout: float | None = None) -> None:
        """Release the file; the next record opens it again."""
        with self._lock:
            if self.closed:
                return
            self.next_check = self.free_until = -math.inf  # every write takes the lock, and reopens
            self.closed = True
            self._swap(os.open(os.devnull, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)))
