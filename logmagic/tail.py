"""Reading log files the way svlogd writes them, and following them like ``tail -F``.

A *stream* is a list of files read as one byte stream: an svlogd directory is its rotated
files (``@<tai64n>.s`` / ``.u``, in name order, which is time order) and then ``current``.
Reading them as one stream matters: when svlogd rotates in the middle of a long line, the
rotated file ends without a newline and the next file continues the line, without a new
timestamp prefix. Read as one stream, such a line comes out whole.

svlogd's timestamp prefixes (``-t`` TAI64N ``@4000…``, ``-tt`` ``2026-11-22_06:28:03.46035``,
``-ttt`` ISO 8601) are recognized by ``strip_prefix``.
"""

from __future__ import annotations

import datetime
import gzip
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

#: Bytes read per call; chunks handed out hold whole lines only.
CHUNK = 1 << 20
#: Seconds between two looks at a followed file.
POLL = 0.2

_ROTATED = re.compile(r"^@[0-9a-f]{24}\.[su]$")
_TAI64N = re.compile(rb"^@(4[0-9a-f]{15})([0-9a-f]{8}) ")
_HUMAN = re.compile(rb"^(\d{4}-\d\d-\d\d)[_T](\d\d:\d\d:\d\d)(\.\d+)? ")
#: TAI64 labels are 2**62 + seconds; TAI runs 10 s ahead of UTC at the 1972 epoch of svlogd's clock.
_TAI_OFFSET = 2**62 + 10


def strip_prefix(line: bytes) -> tuple[bytes, float | None]:
    """``line`` without an svlogd timestamp prefix, and the prefix's time (unix seconds) if any."""
    first = line[:1]
    if first == b"@":
        m = _TAI64N.match(line)
        if m:
            return line[m.end() :], int(m[1], 16) - _TAI_OFFSET + int(m[2], 16) / 1e9
    elif first.isdigit():
        m = _HUMAN.match(line)
        if m:
            try:
                when = datetime.datetime.strptime(f"{m[1].decode()} {m[2].decode()}", "%Y-%m-%d %H:%M:%S")
            except ValueError:
                return line, None
            frac = float(m[3]) if m[3] else 0.0
            return line[m.end() :], when.replace(tzinfo=datetime.timezone.utc).timestamp() + frac
    return line, None


def is_svlogd_dir(path: Path) -> bool:
    """A directory svlogd writes to: it has ``current`` or rotated ``@….s``/``@….u`` files."""
    return (path / "current").is_file() or any(_ROTATED.match(p.name) for p in path.iterdir())


def svlogd_files(path: Path) -> list[Path]:
    """Rotated files in order, then ``current``."""
    rotated = sorted(p for p in path.iterdir() if _ROTATED.match(p.name) and p.is_file())
    current = path / "current"
    return [*rotated, *([current] if current.is_file() else [])]


@dataclass
class Stream:
    """Files read as one byte stream; ``name`` is what messages call it. No files means stdin."""

    name: str
    files: list[Path] = field(default_factory=list)

    def size(self) -> int:
        """Bytes on disk (compressed size for .gz), for progress reports."""
        total = 0
        for p in self.files:
            try:
                total += p.stat().st_size
            except OSError:
                pass
        return total


def streams_for(paths: list[str], recursive: bool = False) -> list[Stream]:
    """The streams to read for command-line paths: files, .gz files, svlogd dirs, ``-`` (stdin).

    Raises ``OSError``/``ValueError`` with a one-line reason for a path that cannot be read.
    """
    if not paths:
        return [Stream("-")]
    out: list[Stream] = []
    for raw in paths:
        if raw == "-":
            out.append(Stream("-"))
            continue
        path = Path(raw)
        if path.is_dir():
            found = _dir_streams(path, recursive)
            if not found:
                hint = "" if recursive else " (use -r to walk a tree of service log directories)"
                raise ValueError(f"{raw}: no svlogd log files here{hint}")
            out.extend(found)
        elif path.is_file():
            out.append(Stream(raw, [path]))
        elif not path.exists():
            raise FileNotFoundError(f"{raw}: no such file or directory")
        else:
            raise ValueError(f"{raw}: not a regular file or directory")
    return out


def _dir_streams(path: Path, recursive: bool) -> list[Stream]:
    found: list[Stream] = []
    if is_svlogd_dir(path):
        found.append(Stream(str(path), svlogd_files(path)))
    if recursive:
        for child in sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink()):
            found.extend(_dir_streams(child, True))
    return found


def _open(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def chunks(stream: Stream, size: int = CHUNK) -> Iterator[bytes]:
    """The stream's bytes in chunks of whole lines; a last line without a newline comes last."""
    rest = b""
    handles: Iterator[BinaryIO] = iter([sys.stdin.buffer]) if not stream.files else (_open(p) for p in stream.files)
    for handle in handles:
        try:
            while True:
                block = handle.read(size)
                if not block:
                    break
                cut = block.rfind(b"\n")
                if cut < 0:
                    rest += block
                    continue
                yield rest + block[: cut + 1]
                rest = block[cut + 1 :]
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()
    if rest:
        yield rest


class Follower:
    """Follows one file path like ``tail -F``: rename (svlogd, logrotate), truncation, deletion,
    and a file that appears later. ``start_at_end`` skips what is already there.
    """

    def __init__(self, path: Path, start_at_end: bool = False) -> None:
        self.path = path
        self.handle: BinaryIO | None = None
        self.ident: tuple[int, int] | None = None
        self.rest = b""
        self._open(start_at_end)

    def _open(self, at_end: bool) -> None:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - kept open while following
        except OSError:
            self.handle = None
            return
        st = os.fstat(handle.fileno())
        self.handle, self.ident = handle, (st.st_dev, st.st_ino)
        if at_end:
            handle.seek(0, os.SEEK_END)

    def read(self) -> bytes:
        """Whatever whole lines are new; b"" when nothing is."""
        out = b""
        if self.handle is None:
            self._open(False)
            if self.handle is None:
                return b""
        block = self.handle.read()
        if block:
            out = self._lines(block)
        try:
            st = os.stat(self.path)
            replaced = (st.st_dev, st.st_ino) != self.ident
            truncated = not replaced and st.st_size < self.handle.tell()
        except FileNotFoundError:
            replaced, truncated = True, False
        if truncated:  # copytruncate: start again from the top
            self.handle.seek(0)
            self.rest = b""
        elif replaced:  # rotated: drain the old file, then take the new one from its start
            out += self._lines(self.handle.read())
            self.handle.close()
            self._open(False)
        return out

    def _lines(self, block: bytes) -> bytes:
        data = self.rest + block
        cut = data.rfind(b"\n")
        if cut < 0:
            self.rest = data
            return b""
        self.rest = data[cut + 1 :]
        return data[: cut + 1]


def follow_streams(streams: list[Stream], poll: float = POLL) -> Iterator[tuple[Stream, bytes]]:
    """Each stream's existing lines, then new ones as they are written, forever.

    The last file of a stream (svlogd's ``current``) is followed across rotation; a line split
    between the last rotated file and ``current`` still comes out whole.
    """
    followers: list[tuple[Stream, Follower]] = []
    for stream in streams:
        if not stream.files:  # stdin: it streams by itself, until it ends
            for chunk in chunks(stream):
                yield stream, chunk
            continue
        rest = b""
        for chunk in chunks(Stream(stream.name, stream.files[:-1])):
            if chunk.endswith(b"\n"):
                yield stream, chunk
            else:
                rest = chunk
        follower = Follower(stream.files[-1])
        follower.rest = rest
        followers.append((stream, follower))
    while followers:
        idle = True
        for stream, follower in followers:
            data = follower.read()
            if data:
                idle = False
                yield stream, data
        if idle:
            time.sleep(poll)
