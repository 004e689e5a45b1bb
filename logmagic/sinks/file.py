"""The file sink: one line per record appended to a file, following logrotate.

The file is opened with ``O_APPEND``, so every line lands whole at the end even when other
processes append too. Once a second (by record time) the sink checks whether the path still
names the file its descriptor has open; when the file was moved or deleted (logrotate's
``create`` mode) it opens a new one. ``logmagic.reopen()`` forces that, for a SIGHUP handler.

The sink keeps one descriptor number for its whole life: a new file is put behind it with
``dup2``, and the number is closed only when the sink itself is garbage collected, when no
thread can be writing through it. Writers that skip the lock therefore never hit a number that
was closed and reused for another file or socket, and a record written while the sink is being
replaced or closed still lands in the file.
"""

from __future__ import annotations

import os
import weakref

from logmagic._report import warn
from logmagic.sinks.stream import FdSink

__all__ = ["FileSink"]

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
            fd = os.open(self.path, _FLAGS, self.mode)
        except OSError as exc:
            raise ValueError(f"file sink {path!r}: cannot open: {exc.strerror or exc}") from None
        try:
            super().__init__(fd, fmt, color=False)
        except BaseException:
            os.close(fd)
            raise
        self._check_failed = False  # said once on stderr
        # The descriptor goes with the sink; at exit the OS closes it, after the last record.
        weakref.finalize(self, os.close, fd).atexit = False

    def _open(self) -> None:
        """Open the path and put the new file behind the sink's descriptor."""
        fd = os.open(self.path, _FLAGS, self.mode)
        try:
            os.dup2(fd, self.fd, inheritable=False)
        finally:
            os.close(fd)

    def _look(self, now: float) -> None:
        # The record's time paces the rotation check: no clock call per line.
        self._follow()
        super()._look(now)

    def _follow(self) -> None:
        """Reopen the path if it no longer names the file behind the descriptor."""
        try:
            st = os.stat(self.path)
            here = os.fstat(self.fd)
            if (st.st_dev, st.st_ino) == (here.st_dev, here.st_ino):
                return
        except FileNotFoundError:
            pass  # moved or deleted: open a new file
        except OSError as exc:  # the path cannot be looked at (permissions): keep the open file
            if not self._check_failed:
                self._check_failed = True
                warn(f"sink {self.name!r}: cannot check {self.path} for rotation: {exc.strerror or exc}")
            return
        # Until a file is open again every record comes here: an OSError from _open drops
        # this record (counted) and the next record tries again.
        self._look_again()
        self._open()

    def reopen(self) -> None:
        """Open the path again at once (after rotation, or on SIGHUP)."""
        with self.line_lock:
            try:
                self._open()
            except OSError as exc:
                warn(f"sink {self.name!r}: cannot reopen {self.path}: {exc.strerror or exc}")
            self._look_again()  # the next record looks at the new file

    def flush(self, timeout: float | None = None) -> bool:
        return True  # every line is written by the time emit returns

    def close(self, timeout: float | None = None) -> None:
        """Nothing to flush; the next record checks the path again.

        The file stays open until the sink is dropped (then the descriptor is closed): a
        thread may still be writing through it without the lock.
        """
        with self.line_lock:
            self._look_again()
