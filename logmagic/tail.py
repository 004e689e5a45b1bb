"""Reading log files the way svlogd writes them (``logmagic.follow`` follows them like ``tail -F``).

A *stream* is a list of files read as one byte stream: an svlogd directory is its rotated
files (``@<tai64n>.s`` / ``.u``, in name order, which is time order) and then ``current``.
A rotated file may be gzip-compressed whatever its name (svlogd's ``!gzip`` processor).
Reading them as one stream matters: when svlogd rotates in the middle of a long line, the
rotated file ends without a newline and the next file continues the line, without a new
timestamp prefix. Read as one stream, such a line comes out whole.

svlogd's timestamp prefixes (``-t`` TAI64N ``@4000…``, ``-tt`` ``2026-11-22_06:28:03.46035``,
``-ttt`` ISO 8601) are recognized by ``strip_prefix``.
"""

from __future__ import annotations

import datetime
import errno
import os
import re
import stat
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast

#: Size of the read buffer. It is reused for every block, so it stays in the CPU cache while
#: it is searched; it grows only for a line longer than itself.
CHUNK = 1 << 19
#: Longest line kept whole. A longer one (a file of NUL bytes left by copytruncate, a binary
#: file) would otherwise be held whole in memory: its start is passed on as a line, and the
#: rest of it, up to the next newline, is skipped.
MAX_LINE = 1 << 24

#: The name of a file svlogd rotated: ``@<tai64n>.s`` (or ``.u``, cut short).
ROTATED_NAME = re.compile(r"^@[0-9a-f]{24}\.[su]$")
_TAI64N = re.compile(rb"^@(4[0-9a-f]{15})([0-9a-f]{8}) ")
#: ``-tt`` (``_``) and ``-ttt`` (``T``); an ISO 8601 zone is accepted too (other writers add one).
_HUMAN = re.compile(rb"^(\d{4})-(\d\d)-(\d\d)[_T](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|([+-])(\d\d):?(\d\d))? ")
#: TAI64 labels are 2**62 + seconds; TAI runs 10 s ahead of UTC at the 1972 epoch of svlogd's clock.
TAI_OFFSET = 2**62 + 10
#: ``-tt`` / ``-ttt`` prefix (date and time to the second) -> unix seconds, or None when invalid.
#: svlogd's lines come in time order, so a small cache turns one date parse per line into one
#: per second of log.
_SECONDS: dict[bytes, float | None] = {}
_SECONDS_MAX = 4096


class _Reader(Protocol):
    """What ``blocks`` reads from: a file, a .gz file, stdin."""

    def readinto(self, buffer: memoryview, /) -> int | None: ...

    def close(self) -> None: ...


#: Where a file that cannot be read is reported: one line naming it and saying why. Reading
#: goes on with the next file; the caller decides what the error means for the whole run.
Report = Callable[[str], None]


def strip_prefix(line: bytes) -> tuple[bytes, float | None]:
    """``line`` without an svlogd timestamp prefix, and the prefix's time (unix seconds) if any."""
    first = line[:1]
    if first == b"@":
        m = _TAI64N.match(line)
        if m:
            return line[m.end() :], int(m[1], 16) - TAI_OFFSET + int(m[2], 16) / 1e9
    elif first.isdigit():
        m = _HUMAN.match(line)
        if m:
            key = line[:19]
            try:
                when = _SECONDS[key]
            except KeyError:
                if len(_SECONDS) >= _SECONDS_MAX:
                    _SECONDS.clear()
                when = _SECONDS[key] = _utc_seconds(m)
            if when is None:
                return line, None
            if m[9]:  # a zone other than Z: the time is local to it
                when -= (1 if m[9] == b"+" else -1) * (int(m[10]) * 3600 + int(m[11]) * 60)
            return line[m.end() :], when + (float(m[7]) if m[7] else 0.0)
    return line, None


def prefix_length(line: bytes) -> int:
    """How many bytes of ``line`` are an svlogd timestamp prefix (0: none); no time is parsed."""
    first = line[:1]
    if first == b"@":
        m = _TAI64N.match(line)
    elif first.isdigit():
        m = _HUMAN.match(line)
    else:
        return 0
    return m.end() if m else 0


def _utc_seconds(m: re.Match[bytes]) -> float | None:
    """Unix seconds of a ``-tt``/``-ttt`` prefix's date and time (UTC), None if no such time."""
    year, month, day, hour, minute, second = (int(m[i]) for i in range(1, 7))
    try:
        when = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    return when.timestamp()


def rotated_files(path: Path) -> list[Path]:
    """svlogd's rotated files in ``path``, oldest first (their names are TAI64N times)."""
    return sorted(p for p in path.iterdir() if ROTATED_NAME.match(p.name) and p.is_file())


@dataclass
class Stream:
    """Files read as one byte stream; ``name`` is what messages call it. No files means stdin.

    ``directory`` is the svlogd directory the files come from, if they do: following it means
    following its ``current`` and catching up on the files rotated meanwhile.
    """

    name: str
    files: list[Path] = field(default_factory=list)
    directory: Path | None = None

    def size(self) -> int:
        """Bytes on disk (compressed size for .gz), for progress reports."""
        total = 0
        for p in self.files:
            try:
                total += p.stat().st_size
            except OSError:
                pass
        return total

    @property
    def is_stdin(self) -> bool:
        """Whether this is standard input."""
        return not self.files and self.directory is None


def streams_for(paths: list[str], report: Report, recursive: bool = False) -> list[Stream]:
    """The streams to read for command-line paths: files, .gz files, svlogd dirs, ``-`` (stdin).

    A path that cannot be read is reported in one line and left out; the others are kept.
    """
    if not paths:
        return [Stream("-")]
    out: list[Stream] = []
    for raw in paths:
        if raw == "-":
            out.append(Stream("-"))
        else:
            out.extend(_path_streams(raw, recursive, report))
    return out


def _path_streams(raw: str, recursive: bool, report: Report) -> list[Stream]:
    """The streams of one command-line path, or none (reported) when it cannot be read."""
    path = Path(raw)
    try:
        if path.is_dir():
            found, complete = _dir_streams(path, recursive, report)
            if not found and complete:
                hint = "" if recursive else " (use -r to walk a tree of service log directories)"
                report(f"{raw}: no svlogd log files here{hint}")
            return found
        if path.is_file():
            return [Stream(raw, [path])]
        exists = path.exists()
    except OSError as exc:
        report(f"{raw}: {why_unreadable(exc)}")
        return []
    report(f"{raw}: not a regular file or directory" if exists else f"{raw}: no such file or directory")
    return []


def _dir_streams(top: Path, recursive: bool, report: Report) -> tuple[list[Stream], bool]:
    """The svlogd streams at ``top`` and, with ``recursive``, below it; and whether every
    directory could be looked into (one that cannot is reported and skipped).

    Symbolic links are followed (runit's ``/etc/service/<name>`` links to ``/etc/sv/<name>``);
    a directory reached twice (a link cycle) is walked once. The walk keeps its own stack, so
    the depth of the tree does not matter.
    """
    found: list[Stream] = []
    complete = True
    seen: set[tuple[int, int]] = set()
    stack = [top]
    while stack:
        path = stack.pop()
        try:
            st = path.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            files, subdirs = _look_into(path)
        except OSError as exc:
            report(f"{path}: {why_unreadable(exc)}")
            complete = False
            continue
        if files:
            found.append(Stream(str(path), files, path))
        if recursive:
            stack.extend(reversed(subdirs))  # popped in name order
    return found, complete


def _look_into(path: Path) -> tuple[list[Path], list[Path]]:
    """A directory's svlogd files (rotated ones in name order, then ``current``; none when it
    is not an svlogd directory) and its subdirectories in name order."""
    rotated, subdirs, current = [], [], []
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir():
                subdirs.append(path / entry.name)
            elif entry.name == "current" and entry.is_file():
                current.append(path / entry.name)
            elif ROTATED_NAME.match(entry.name) and entry.is_file():
                rotated.append(path / entry.name)
    return [*one_per_rotation(sorted(rotated)), *current], sorted(subdirs)


def one_per_rotation(rotated: list[Path]) -> list[Path]:
    """``rotated`` without the ``@<stamp>.u`` files that have a ``@<stamp>.s`` beside them.

    With a processor (a ``!`` line in svlogd's ``config``), svlogd renames ``current`` to
    ``@<stamp>.u``, has the processor write ``@<stamp>.t``, renames that to ``@<stamp>.s`` and
    only then deletes the ``.u`` file: while both are there, they hold the same lines, and
    the finished output is the one still there a moment later.
    """
    finished = {p.name[:-2] for p in rotated if p.name.endswith(".s")}
    return [p for p in rotated if not (p.name.endswith(".u") and p.name[:-2] in finished)]


#: The first bytes of a gzip file. A processor such as ``!gzip`` writes compressed rotated
#: files under svlogd's usual names, so the content decides, not the name.
GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    """Whether the file at ``path`` is gzip-compressed (``OSError`` when it cannot be read)."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def open_regular(path: str | Path, follow_links: bool = False) -> int:
    """A read-only descriptor on the regular file at ``path``.

    The file is opened without blocking (opening a FIFO for reading waits for a writer, for
    ever if none comes) and, unless ``follow_links``, never through a symbolic link (``ELOOP``);
    anything but a regular file (a FIFO, a device, a socket) is closed again unread:
    ``OSError`` (``EINVAL``, "not a regular file"). Files in directories that other users
    write are opened this way, as if an attacker had prepared them.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags if follow_links else flags | os.O_NOFOLLOW)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


def svlogd_processor(directory: str | Path) -> bool:
    """Whether the svlogd ``directory`` has a processor (a ``!`` line in its ``config``): then a
    ``@<stamp>.s`` file is the processor's output, a new file, not ``current`` renamed.

    A ``config`` that is not a regular file (a FIFO, a link) is no configuration."""
    try:
        with open(open_regular(os.path.join(directory, "config")), "rb") as f:
            config = f.read(1 << 16)
    except OSError:
        return False
    return any(line.startswith(b"!") for line in config.splitlines())


def _open(path: Path, listed: bool) -> _Reader:
    """``path`` open for reading, decompressed when it is gzip.

    A file found by listing a directory (``listed``) must be a regular file: a FIFO there
    would block the open for ever. A path the user named is read whatever it is, as ``grep``
    would read it.
    """
    if not listed:
        if is_gzip(path):
            import gzip  # only when a compressed file is read

            return gzip.GzipFile(path, "rb")
        return open(path, "rb", buffering=0)  # reads go straight into the caller's buffer
    raw = open(open_regular(path, follow_links=True), "rb", buffering=0)  # noqa: SIM115 - returned open
    try:
        gzipped = os.pread(raw.fileno(), 2, 0) == GZIP_MAGIC
    except OSError:
        raw.close()
        raise
    if not gzipped:
        return raw
    import gzip

    unpacked = gzip.GzipFile(fileobj=raw, mode="rb")
    unpacked.myfileobj = raw  # closed with it, as when GzipFile opens the file itself
    return unpacked


def read_whole(path: Path) -> bytes:
    """The bytes of the regular file at ``path`` (a file found in a directory: never a FIFO),
    decompressed when it is gzip (``OSError``, ``EOFError`` or ``zlib.error`` when it cannot
    be read to its end)."""
    with open(open_regular(path, follow_links=True), "rb") as f:
        data = f.read()
    if data.startswith(GZIP_MAGIC):
        import gzip

        return gzip.decompress(data)
    return data


def ident(path: str | Path) -> tuple[int, int] | None:
    """The device and inode of ``path``, None when it does not exist (or cannot be looked at)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def why_unreadable(exc: BaseException) -> str:
    """One line saying why reading failed, without the file name (the caller adds it)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, EOFError):
        return "compressed data ends early (truncated file?)"
    return str(exc) or type(exc).__name__


def _handles(stream: Stream, report: Report) -> Iterator[tuple[str, _Reader | None]]:
    """Each file of the stream (stdin when it has none), open, and closed when done with.

    A file that cannot be opened is reported and comes as ``None``: the line that ran into it
    is lost. One that svlogd removed since the directory was listed is left out.
    """
    if stream.is_stdin:
        if sys.stdin is None:  # started with file descriptor 0 closed
            report("standard input is closed")
            yield "-", None
        else:
            yield "-", cast(_Reader, sys.stdin.buffer)  # a BufferedReader; typed as the narrower BinaryIO
        return
    for path in stream.files:
        try:
            handle = _open(path, listed=stream.directory is not None)
        except FileNotFoundError:
            if stream.directory is not None:
                continue  # svlogd removed a rotated file since the directory was listed
            report(f"{path}: no such file or directory")
            yield str(path), None
            continue
        except OSError as exc:
            report(f"{path}: {why_unreadable(exc)}")
            yield str(path), None
            continue
        try:
            yield str(path), handle
        finally:
            handle.close()


def blocks(
    stream: Stream, report: Report, size: int = CHUNK, max_line: int = MAX_LINE
) -> Iterator[tuple[bytearray, int]]:
    """The stream's bytes in blocks of whole lines: ``(buf, end)``, the lines being ``buf[:end]``.

    ``buf`` is one buffer, reused for every block: use a block before asking for the next one.
    A last line without a newline comes last, alone. A line longer than ``max_line`` is cut
    there (see ``MAX_LINE``). A file that cannot be read to its end (a truncated or corrupt .gz,
    an I/O error, no permission) is reported; the unfinished line it was in is dropped, and
    reading goes on with the next file of the stream.
    """
    buf = bytearray(size)
    have = 0  # bytes at the start of buf: the beginning of a line whose end is not read yet
    skip = False  # in the rest of a line that was cut: nothing is kept up to its newline
    for name, handle in _handles(stream, report):
        if handle is None:
            have, skip = 0, False
            continue
        # readinto1: at most one read of the underlying file, so a pipe's lines come as they come
        readinto: Callable[[memoryview], int | None] = getattr(handle, "readinto1", handle.readinto)
        try:
            while True:
                if have == len(buf):  # a line longer than the buffer
                    if have >= max_line:
                        buf[have:] = b"\n"
                        yield buf, have + 1
                        del buf[size:]
                        have, skip = 0, True
                    else:
                        buf.extend(bytes(min(len(buf), max_line - len(buf))))
                with memoryview(buf) as view:
                    got = readinto(view[have:])
                if not got:
                    break
                filled = have + got
                if skip:  # have is 0
                    start = buf.find(b"\n", 0, filled) + 1
                    if start == 0:
                        continue
                    skip = False
                    filled -= start
                    buf[:filled] = buf[start : start + filled]
                cut = buf.rfind(b"\n", have, filled) + 1
                if cut == 0:
                    have = filled
                    continue
                yield buf, cut
                have = filled - cut
                buf[:have] = buf[cut:filled]
                if len(buf) > size and have < size:  # back to the usual size after a long line
                    del buf[size:]
        except (OSError, EOFError, zlib.error) as exc:
            report(f"{name}: {why_unreadable(exc)}")
            have, skip = 0, False
            del buf[size:]
    if have:
        yield buf, have
