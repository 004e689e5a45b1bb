"""Writing to a descriptor logmagic shares (stderr) without waiting longer than a deadline.

fd 2's open file description is shared with the parent and with sibling processes (svlogd's
pipe is the stderr of every worker of a service), so logmagic never sets ``O_NONBLOCK`` on it:
that would change it for all of them. A ``BoundedWriter`` instead writes through a description
of its own for the same pipe, FIFO or terminal (``/proc/self/fd/N`` opened with
``O_NONBLOCK``), a socket with ``MSG_DONTWAIT``, and a regular file or /dev/null as it is (they
never wait). Between tries it sleeps in ``poll`` until the descriptor is writable again or the
deadline has passed. Where no description of its own can be had (no /proc), it polls before
each write: bounded unless another process fills the pipe between the poll and the write.

``EXIT.started`` is set when the interpreter's exit flush starts: from then on, writers that
would wait without limit wait at most ``EXIT_WAIT`` seconds.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import stat
import time

#: Seconds a write may wait for a full stderr once the exit flush has started.
EXIT_WAIT = 1.0


class _Exit:
    """Whether the exit flush has started: an attribute, read on the stderr sinks' hot path."""

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = False

    def start(self) -> None:
        """The exit flush has started: writes that would wait without limit now wait ``EXIT_WAIT``."""
        self.started = True


EXIT = _Exit()


_DIRECT, _OWN, _SOCKET, _POLL = range(4)


class BoundedWriter:
    """Writes bytes to ``fd`` until they are all out or a deadline passes. Not thread-safe:
    its owner holds a lock around each ``write``.

    What ``fd`` refers to is looked at on each call (one ``fstat``), so a process that points
    fd 2 elsewhere gets its new stderr written to.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._key: tuple[int, int, int] | None = None
        self._kind = _POLL
        self._own = -1  # our O_NONBLOCK description of the same pipe or terminal (_OWN)
        self._sock: socket.socket | None = None  # a dup of fd as a socket object (_SOCKET)
        #: Why the last ``write`` that returned early stopped: an ``OSError`` or None (time).
        self.last_error: OSError | None = None

    def write(self, data: bytes | memoryview, deadline: float | None) -> int:
        """Write ``data``; return how many bytes went out (all of it, unless it stopped early).

        ``deadline`` is a ``time.monotonic()`` value, or None to wait as long as it takes. An
        ``OSError`` (a closed pipe, a full disk) is raised when nothing was written; after a
        part went out it ends the write early and is kept in ``last_error``.
        """
        self.last_error = None
        view = memoryview(data)
        self._prepare()
        done = 0
        while done < len(view):
            try:
                done += self._try(view[done:])
                continue
            except BlockingIOError:
                pass
            except InterruptedError:
                continue
            except OSError as exc:
                if not done:
                    raise
                self.last_error = exc
                return done
            if not self._wait(deadline):
                return done
        return done

    def _try(self, view: memoryview) -> int:
        if self._kind == _OWN:
            return os.write(self._own, view)
        if self._kind == _SOCKET and self._sock is not None:
            return self._sock.send(view, socket.MSG_DONTWAIT)
        if self._kind == _POLL and not _writable(self.fd, 0):
            raise BlockingIOError(errno.EAGAIN, "not writable")
        return os.write(self.fd, view)

    def _wait(self, deadline: float | None) -> bool:
        """Sleep until the descriptor may take more, or the deadline; False: time is up."""
        if deadline is None and EXIT.started:
            deadline = time.monotonic() + EXIT_WAIT
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            fd = self._own if self._kind == _OWN else self.fd
            if _writable(fd, left):
                return True

    def _prepare(self) -> None:
        """Choose how to write, when ``fd`` refers to something new (or on first use)."""
        try:
            st = os.fstat(self.fd)
        except OSError:
            return  # the write itself will say what is wrong
        key = (st.st_dev, st.st_ino, st.st_rdev)
        if key == self._key:
            return
        self.close()
        self._key = key
        if stat.S_ISREG(st.st_mode) or (stat.S_ISCHR(st.st_mode) and st.st_rdev == _DEV_NULL):
            self._kind = _DIRECT
        elif stat.S_ISSOCK(st.st_mode):
            self._kind = _POLL
            try:
                self._sock = socket.socket(fileno=os.dup(self.fd))
                self._kind = _SOCKET
            except OSError:
                pass
        else:
            self._kind = _POLL
            try:
                flags = os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
                self._own = os.open(f"/proc/self/fd/{self.fd}", flags)
                self._kind = _OWN
            except OSError:
                pass

    def close(self) -> None:
        """Let go of the description or socket of our own (the shared ``fd`` stays open)."""
        if self._own >= 0:
            try:
                os.close(self._own)
            except OSError:
                pass
            self._own = -1
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
        self._key = None


def _writable(fd: int, timeout: float | None) -> bool:
    """Whether ``fd`` can take a write now, waiting up to ``timeout`` seconds (None: forever)."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    try:
        events = poller.poll(None if timeout is None else max(0, int(timeout * 1000 + 0.999)))
    except InterruptedError:
        return False
    return bool(events)


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


def _device_of(path: str) -> int | None:
    try:
        return os.stat(path).st_rdev
    except OSError:
        return None


_DEV_NULL = _device_of(os.devnull)
