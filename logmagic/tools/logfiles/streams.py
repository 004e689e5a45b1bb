"""Files read as one byte stream, in blocks of whole lines.

A *stream* is a list of files read one after the other as one byte stream: an svlogd directory
is its rotated files (``@<tai64n>.s`` / ``.u``, in name order, which is time order) and then
``current``. Reading them as one stream matters: when svlogd rotates in the middle of a long
line, the rotated file ends without a newline and the next file continues the line, without a
new timestamp prefix. Read as one stream, such a line comes out whole. A file may be
gzip-compressed whatever its name (svlogd's ``!gzip`` processor): it is read decompressed.

Files are read with ``readinto`` into one buffer that is kept from block to block, behind the
start of the line the last block ended in: each byte is copied once, from the kernel, into
memory that stays in the CPU cache while it is searched. Not with ``mmap``: a file that
shrinks while it is mapped (``copytruncate``, another user truncating a file under ``-r``)
kills the reader with SIGBUS, and a mapping's pages count in the reader's memory as it goes.
"""

from __future__ import annotations

import os
import sys
import zlib
from collections.abc import Callable, Iterator

from logmagic.tools.logfiles.compressed import GzipReader, is_gzip, open_content
from logmagic.tools.logfiles.lines import Cutter

__all__ = ["CHUNK", "MAX_LINE", "Report", "Stream", "blocks", "regions", "why_unreadable"]

#: Bytes asked for per read: big enough that a search runs over a lot of lines in C, small
#: enough to stay in the CPU cache while it is searched.
CHUNK = 1 << 17
#: Longest line kept whole. A longer one (a file of NUL bytes left by copytruncate, a binary
#: file) would otherwise be held whole in memory: its start is passed on as a line, and the
#: rest of it, up to the next newline, is skipped.
MAX_LINE = 1 << 24

TYPE_CHECKING = False  # typing's constant without importing typing: the host tools start faster
if TYPE_CHECKING:
    from logmagic.tools.logfiles.compressed import Readable

#: Where a file that cannot be read is reported: one line naming it and saying why. Reading
#: goes on with the next file; the caller decides what the error means for the whole run.
Report = Callable[[str], None]
#: Reads into the buffer it is given; the number of bytes read, 0 at the end.
ReadInto = Callable[[memoryview], int]


class Stream:
    """Files read as one byte stream; ``name`` is what messages call it. No files means stdin.

    ``directory`` is the svlogd directory the files come from, if they do: following it means
    following its ``current`` and catching up on the files rotated meanwhile. Paths are text
    (``os.path``): reading needs no ``pathlib``. (A plain class: a dataclass would have every
    search load ``dataclasses`` and ``inspect``, some 7 ms.)
    """

    __slots__ = ("directory", "files", "name")

    def __init__(self, name: str, files: list[str] | None = None, directory: str | None = None) -> None:
        self.name = name
        self.files = [] if files is None else files
        self.directory = directory

    def __repr__(self) -> str:
        return f"Stream({self.name!r}, {self.files!r}, {self.directory!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stream):
            return NotImplemented
        return (self.name, self.files, self.directory) == (other.name, other.files, other.directory)

    __hash__ = None  # type: ignore[assignment]  # as a dataclass's: equal by value, so not hashable

    def size(self) -> int:
        """Bytes on disk (compressed size for .gz), for progress reports."""
        total = 0
        for p in self.files:
            try:
                total += os.stat(p).st_size
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


def _open(path: str, listed: bool) -> Readable:
    """``path`` open for reading, decompressed when it is gzip.

    A file found by listing a directory (``listed``) must be a regular file: a FIFO there
    would block the open for ever. A path the user named is read whatever it is, as ``grep``
    would read it.
    """
    if listed:
        # imported here: a search of plain files has no use for the shipper's file identities
        from logmagic.tools.logfiles.identity import open_regular

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
            yield "-", sys.stdin.buffer
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


def _reader(handle: Readable) -> ReadInto:
    """How to read ``handle`` into a buffer: one ``read`` system call at a time (``readinto1``
    of a buffered pipe, so that its lines come as they come; ``readinto`` of a raw file), or,
    for what has no ``readinto`` (the gzip reader), a read and a copy."""
    into = getattr(handle, "readinto1", None) or getattr(handle, "readinto", None)
    if into is not None:
        return into  # type: ignore[no-any-return]
    read = getattr(handle, "read1", handle.read)

    def copy_into(view: memoryview) -> int:
        data = read(len(view))
        view[: len(data)] = data
        return len(data)

    return copy_into


class _Lines:
    """Whole lines out of the bytes read, with the line cutter's rules (``Cutter``).

    The usual case is read straight into ``buf``, behind ``held`` bytes: the start of a line
    whose newline has not come. Where a line may be too long (it would reach ``max_line``) the
    cutter takes over, and gives the start of the line back once it is short again.
    """

    def __init__(self, max_line: int) -> None:
        self.cutter = Cutter(max_line)
        self.buf = bytearray()
        self.held = 0
        self.rest = (0, 0)  # bytes of buf after the block just given out: the next line's start

    def reset(self) -> None:
        """Drop the unfinished line (the file it was in could not be read on)."""
        self.held, self.rest = 0, (0, 0)
        self.cutter.reset()

    def _settle(self) -> None:
        """Move the start of the next line, left behind the last block, to the front."""
        start, end = self.rest
        if end > start:
            self.buf[: end - start] = self.buf[start:end]
            self.held = end - start
        self.rest = (0, 0)

    def read(self, read_into: ReadInto, size: int) -> tuple[bytearray, int] | None:
        """Read once; ``(buffer, end)`` with ``buffer[:end]`` the whole lines now complete (``end``
        may be 0), None at the end of the input. The buffer is reused by the next call."""
        self._settle()
        cutter = self.cutter
        if cutter.continued or max(self.held, len(cutter.pending)) + size >= cutter.max_line:
            if self.held:
                cutter.pending, self.held = bytes(self.buf[: self.held]), 0
            scratch = bytearray(size)
            with memoryview(scratch) as view:
                n = read_into(view)
            if not n:
                return None
            block = cutter.block(bytes(scratch[:n]))
            return block, len(block)
        if cutter.pending:  # a short line start the cutter holds: back into the buffer
            self.buf[: len(cutter.pending)] = cutter.pending
            self.held, cutter.pending = len(cutter.pending), b""
        buf, held = self.buf, self.held
        need = held + size
        if len(buf) < need:
            buf.extend(bytes(need - len(buf)))
        with memoryview(buf) as view:
            n = read_into(view[held:need])
        if not n:
            return None
        end = held + n
        last = buf.rfind(b"\n", held, end) + 1  # the held bytes hold no newline
        if last == 0:
            self.held = end
            return buf, 0
        self.held, self.rest = 0, (last, end)
        return buf, last

    def tail(self) -> bytes:
        """The last line, without a newline, once the input has ended (b"" when there is none)."""
        self._settle()
        if self.held:
            return bytes(self.buf[: self.held])
        return self.cutter.pending


def regions(
    stream: Stream, report: Report, size: int = CHUNK, max_line: int = MAX_LINE
) -> Iterator[tuple[bytes | bytearray, int]]:
    """The stream's bytes as ``(buffer, end)``: ``buffer[:end]`` is whole lines, each ending with
    a newline. The buffer is reused: use it before asking for the next region.

    A last line without a newline comes last, alone (``end`` is its length). A line longer than
    ``max_line`` is cut there (see ``MAX_LINE``). A file that cannot be read to its end (a
    truncated or corrupt .gz, an I/O error, no permission) is reported; the unfinished line it
    was in is dropped, and reading goes on with the next file of the stream.
    """
    lines = _Lines(max_line)
    for name, handle in _handles(stream, report):
        if handle is None:
            lines.reset()
            continue
        read_into = _reader(handle)
        try:
            while (got := lines.read(read_into, size)) is not None:
                if got[1]:
                    yield got
        except (OSError, EOFError, zlib.error) as exc:
            report(f"{name}: {why_unreadable(exc)}")
            lines.reset()
    last = lines.tail()
    if last:
        yield last, len(last)


def blocks(stream: Stream, report: Report, size: int = CHUNK, max_line: int = MAX_LINE) -> Iterator[bytes]:
    """``regions`` as blocks of their own: the stream's bytes, each block whole lines (each
    ending with a newline; a last line without one comes last, alone)."""
    for buf, end in regions(stream, report, size, max_line):
        yield bytes(buf[:end])
