"""Files read as one byte stream, in blocks of whole lines.

A *stream* is a list of files read one after the other as one byte stream: an svlogd directory
is its rotated files (``@<tai64n>.s`` / ``.u``, in name order, which is time order) and then
``current``. Reading them as one stream matters: when svlogd rotates in the middle of a long
line, the rotated file ends without a newline and the next file continues the line, without a
new timestamp prefix. Read as one stream, such a line comes out whole. A file may be
gzip-compressed whatever its name (svlogd's ``!gzip`` processor): it is read decompressed.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from logmagic.tools.logfiles.compressed import GzipReader, Readable, is_gzip, open_content
from logmagic.tools.logfiles.identity import open_regular
from logmagic.tools.logfiles.lines import Cutter

__all__ = ["CHUNK", "MAX_LINE", "Report", "Stream", "blocks", "why_unreadable"]

#: Bytes asked for per read: big enough that a search runs over a lot of lines in C, small
#: enough to stay in the CPU cache while it is searched.
CHUNK = 1 << 19
#: Longest line kept whole. A longer one (a file of NUL bytes left by copytruncate, a binary
#: file) would otherwise be held whole in memory: its start is passed on as a line, and the
#: rest of it, up to the next newline, is skipped.
MAX_LINE = 1 << 24

#: Where a file that cannot be read is reported: one line naming it and saying why. Reading
#: goes on with the next file; the caller decides what the error means for the whole run.
Report = Callable[[str], None]


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


def why_unreadable(exc: BaseException) -> str:
    """One line saying why reading failed, without the file name (the caller adds it)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, EOFError):
        return "compressed data ends early (truncated file?)"
    return str(exc) or type(exc).__name__


def _open(path: Path, listed: bool) -> Readable:
    """``path`` open for reading, decompressed when it is gzip.

    A file found by listing a directory (``listed``) must be a regular file: a FIFO there
    would block the open for ever. A path the user named is read whatever it is, as ``grep``
    would read it.
    """
    if listed:
        return open_content(open_regular(path, follow_links=True))
    if is_gzip(path):
        return GzipReader(open(path, "rb"))
    return open(path, "rb", buffering=0)


def _handles(stream: Stream, report: Report) -> Iterator[tuple[str, Readable | None]]:
    """Each file of the stream (stdin when it has none), open, and closed when done with.

    A file that cannot be opened is reported and comes as ``None``: the line that ran into it
    is lost. One that svlogd removed since the directory was listed is left out.
    """
    if stream.is_stdin:
        if sys.stdin is None:  # started with file descriptor 0 closed
            report("standard input is closed")
            yield "-", None
        else:
            yield "-", cast(Readable, sys.stdin.buffer)
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


def blocks(stream: Stream, report: Report, size: int = CHUNK, max_line: int = MAX_LINE) -> Iterator[bytes | bytearray]:
    """The stream's bytes in blocks of whole lines (each ends with a newline).

    A block is one buffer, reused for the next block: use it before asking for the next one.

    A last line without a newline comes last, alone. A line longer than ``max_line`` is cut
    there (see ``MAX_LINE``). A file that cannot be read to its end (a truncated or corrupt .gz,
    an I/O error, no permission) is reported; the unfinished line it was in is dropped, and
    reading goes on with the next file of the stream.
    """
    cutter = Cutter(max_line)
    for name, handle in _handles(stream, report):
        if handle is None:
            cutter.reset()
            continue
        # read1: at most one read of the underlying file, so a pipe's lines come as they come
        read: Callable[[int], bytes] = getattr(handle, "read1", handle.read)
        try:
            while data := read(size):
                block = cutter.block(data)
                if block:
                    yield block
        except (OSError, EOFError, zlib.error) as exc:
            report(f"{name}: {why_unreadable(exc)}")
            cutter.reset()
    if cutter.pending:
        yield cutter.pending
