"""The one gzip reader, and the first bytes of the other formats logrotate compresses with.

Whether a file is gzip is decided by its first bytes, not its name, as ``zgrep`` does: svlogd's
``!gzip`` processor writes compressed files under svlogd's usual ``@….s`` names. A gzip file
may hold several members one after the other (``cat a.gz b.gz``); all are read. One that ends
early (being written, or cut short) raises ``EOFError`` after the bytes it held; corrupt data
raises ``zlib.error``.
"""

from __future__ import annotations

import os
import zlib

__all__ = ["GZIP_MAGIC", "GzipReader", "head", "is_gzip", "open_content", "read_whole"]

TYPE_CHECKING = False  # typing's constant without importing typing: the host tools start faster
if TYPE_CHECKING:
    from typing import BinaryIO, Protocol

    class Readable(Protocol):
        """What the readers here hand out: ``read(size)``, ``b""`` at the end, and ``close``
        (a protocol for type checkers only)."""

        def read(self, size: int = -1, /) -> bytes: ...

        def close(self) -> None: ...


#: The first bytes of a gzip file.
GZIP_MAGIC = b"\x1f\x8b"
#: Compressed bytes read at a time.
_READ = 1 << 16
#: zlib's window bits for the gzip format.
_GZIP = 31


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """Whether the file at ``path`` is gzip-compressed (``OSError`` when it cannot be read)."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


class GzipReader:
    """The decompressed bytes of the gzip file ``raw``, read as they are asked for.

    ``read(size)`` gives at most ``size`` bytes (never a whole decompressed file at once: a
    small file may unpack to gigabytes) and ``b""`` once the last member has ended.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._unpack: zlib._Decompress | None = None  # None between two members
        self._rest = b""  # read beyond the member that just ended

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` decompressed bytes (all the rest when ``size`` < 0); b"" at the end."""
        if size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        while True:
            unpack = self._unpack
            if unpack is None:
                data = (self._rest or self._raw.read(_READ)).lstrip(b"\0")  # gzip allows zero padding
                self._rest = b""
                if not data:
                    return b""
                unpack = self._unpack = zlib.decompressobj(_GZIP)
            else:
                data = unpack.unconsumed_tail or self._raw.read(_READ)
                if not data:
                    raise EOFError("compressed data ends early")
            out = unpack.decompress(data, size)
            if unpack.eof:
                self._rest, self._unpack = unpack.unused_data, None
            if out:
                return out

    def read1(self, size: int = -1, /) -> bytes:
        """As ``read``: each call decompresses what one read of the file brings."""
        return self.read(size)

    def close(self) -> None:
        """Close the compressed file."""
        self._raw.close()


def open_content(fd: int) -> Readable:
    """The open regular file ``fd`` as a file object of what it holds: decompressed when it is
    gzip. The file object owns ``fd``."""
    raw = open(fd, "rb", buffering=0)  # noqa: SIM115 - returned open; reads go straight to the caller
    try:
        gzipped = os.pread(fd, 2, 0) == GZIP_MAGIC
    except OSError:
        raw.close()
        raise
    return GzipReader(raw) if gzipped else raw


def read_whole(path: str | os.PathLike[str]) -> bytes:
    """What the regular file at ``path`` holds (a file found in a directory: never a FIFO, a
    link is followed), decompressed when it is gzip (``OSError``, ``EOFError`` or
    ``zlib.error`` when it cannot be read to its end)."""
    from logmagic.tools.logfiles.identity import open_regular  # imported when used: see streams

    reader = open_content(open_regular(path, follow_links=True))
    try:
        return reader.read()
    finally:
        reader.close()


def head(path: str, size: int) -> bytes | None:
    """The first ``size`` bytes a compressed file holds, decompressed; None when they cannot be
    read (a damaged file, or a format the standard library does not read, such as zstd).

    The format is known by content: gzip, bzip2 (``BZh``) and xz.
    """
    try:
        from logmagic.tools.logfiles.identity import open_regular

        with open(open_regular(path), "rb") as raw:
            magic = raw.read(6)
            raw.seek(0)
            if magic.startswith(GZIP_MAGIC):
                return _up_to(GzipReader(raw), size)
            if magic.startswith(b"BZh"):
                import bz2  # only when such a file is looked into

                with bz2.open(raw, "rb") as f:
                    return _up_to(f, size)
            if magic == b"\xfd7zXZ\x00":
                import lzma

                try:
                    with lzma.open(raw, "rb") as f:
                        return _up_to(f, size)
                except lzma.LZMAError:
                    return None
    except (OSError, EOFError, zlib.error, ValueError):
        return None
    return None


def _up_to(f: Readable, size: int) -> bytes:
    """``size`` bytes of ``f``, fewer only at its end."""
    data = b""
    while len(data) < size and (more := f.read(size - len(data))):
        data += more
    return data
