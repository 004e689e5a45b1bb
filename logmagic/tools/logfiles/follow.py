"""Following log files like ``tail -F``: across renames (svlogd, logrotate), truncation,
deletion, and files that appear later; an svlogd directory as its ``current`` plus every file
rotated between two looks. Reading the files that are there already is ``streams``'s.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from logmagic.tools.logfiles.compressed import is_gzip, read_whole
from logmagic.tools.logfiles.identity import ident, open_regular
from logmagic.tools.logfiles.lines import Cutter
from logmagic.tools.logfiles.streams import MAX_LINE, Report, Stream, blocks, why_unreadable
from logmagic.tools.logfiles.svlogd import has_processor, rotated_files

__all__ = ["FOLLOW_READ", "POLL", "Follower", "ReadError", "follow_streams"]

#: Seconds between two looks at a followed file.
POLL = 0.2
#: Most bytes a follower reads at one look: a big file is taken in steps, not all at once.
FOLLOW_READ = 1 << 23


class ReadError(OSError):
    """A followed file could not be read on: the message names the file and says why."""


class Follower:
    """Follows one file path like ``tail -F``: rename (svlogd, logrotate), truncation, deletion,
    and a file that appears later.

    Given the svlogd ``directory`` the path is the ``current`` of, it also reads every file
    rotated between two looks, in order, before the new ``current``: svlogd may rotate
    several times within one poll interval. ``seen`` names the rotated files already read.

    With a processor (``!gzip``, say), svlogd renames ``current`` to ``@<stamp>.u`` and then
    writes the processor's output, a new file, as ``@<stamp>.s``, and deletes the ``.u``. An
    output holds lines read already when its stamp was seen as a ``.u`` file, or when it is
    the output of a followed file that was gone by the next look (``due`` counts those, and
    outputs come in rotation order): it is skipped. Any other output is read, decompressed.

    A rotated file that cannot be read, or a path that cannot be opened, is reported (the
    latter once until it changes); ``read`` raises ``ReadError`` when the followed file itself
    cannot be read on.
    """

    def __init__(self, path: Path, report: Report, directory: Path | None = None, seen: set[str] | None = None) -> None:
        self.path = path
        self.report = report
        self.directory = directory
        self.seen = set(seen or ())
        self.stamps = {name[:-2] for name in self.seen}  # the rotations whose lines are read
        self.due = 0  # processor outputs to come of followed files, in order
        self.handle: BinaryIO | None = None
        self.ident: tuple[int, int] | None = None
        self.lines = Cutter(MAX_LINE)  # holds the start of a line whose end is not read yet
        self.caught_up = directory is None
        self.failure = ""  # why the path could not be opened, as last reported
        self._open()

    def _open(self) -> BinaryIO | None:
        """The followed file, open; None when it cannot be (reported once until that changes).

        An svlogd directory's ``current`` must be a regular file: a FIFO there would block
        the open for ever. A file the user named is opened whatever it is.
        """
        try:
            if self.directory is not None:
                handle = open(open_regular(self.path, follow_links=True), "rb")  # noqa: SIM115 - kept open
            else:
                handle = open(self.path, "rb")  # noqa: SIM115 - kept open while following
        except OSError as exc:
            self.handle = None
            failure = "" if isinstance(exc, FileNotFoundError) else f"{self.path}: {why_unreadable(exc)}"
            if failure and failure != self.failure:
                self.report(failure)
            self.failure = failure
            return None
        st = os.fstat(handle.fileno())
        self.handle, self.ident, self.failure = handle, (st.st_dev, st.st_ino), ""
        return handle

    def read(self) -> bytes:
        """Whatever whole lines are new; b"" when nothing is."""
        out = b""
        if not self.caught_up:  # files rotated between the listing and the first look
            self.caught_up = True
            out += self._rotated_since(None)
        handle = self.handle
        if handle is None:
            handle = self._open()
            if handle is None:
                return out
            out += self._rotated_since(None)
        block = self._read(handle, FOLLOW_READ)
        if block:
            out += self.lines.block(block)
            if len(block) == FOLLOW_READ:
                return out  # more to read now; rotation is looked at once the end is reached
        try:
            st = os.stat(self.path)
            replaced = (st.st_dev, st.st_ino) != self.ident
            truncated = not replaced and st.st_size < handle.tell()
        except FileNotFoundError:
            replaced, truncated = True, False
        except OSError:  # the path cannot be looked at now: read on through the handle
            replaced, truncated = False, False
        if truncated:  # copytruncate: start again from the top
            handle.seek(0)
            self.lines.reset()
        elif replaced:  # rotated: drain the old file, catch up on the others, then take the new one
            out += self.lines.block(self._read(handle, -1))
            old = self.ident
            handle.close()
            self._open()
            out += self._rotated_since(old)
        return out

    def _read(self, handle: BinaryIO, size: int) -> bytes:
        try:
            return handle.read(size)
        except OSError as exc:
            handle.close()
            raise ReadError(f"{self.path}: {why_unreadable(exc)}") from None

    def _rotated_since(self, old: tuple[int, int] | None) -> bytes:
        """The lines of rotated files not seen yet, oldest first.

        Skipped: the file that was being followed (``old``, read through its handle) and the
        one now followed, if it has been rotated already (it is read through its handle).
        """
        if self.directory is None:
            return b""
        out = b""
        try:
            rotated = rotated_files(self.directory)
        except OSError:
            return b""
        unseen = [p for p in rotated if p.name not in self.seen]
        if old is not None and has_processor(self.directory):
            found = [p for p in unseen if p.name.endswith(".u") and ident(p) == old]
            if found:
                self.stamps.add(found[0].name[:-2])
            else:  # processed already: its output is the first new one
                self.due += 1
        for path in unseen:
            stamp = path.name[:-2]
            if stamp in self.stamps:
                continue
            self.stamps.add(stamp)
            if self.due and path.name.endswith(".s"):
                self.due -= 1
                continue
            try:
                st = path.stat()
                if (st.st_dev, st.st_ino) not in (old, self.ident):
                    out += self.lines.block(read_whole(path))
            except FileNotFoundError:
                pass  # removed by svlogd's limit on the number of files: nothing to read
            except (OSError, EOFError, zlib.error) as exc:
                self.report(f"{path}: {why_unreadable(exc)}")
                self.lines.reset()  # the line that ran into it cannot be completed
        self.seen = {p.name for p in rotated}
        self.stamps &= {name[:-2] for name in self.seen}  # a stamp leaves with its last file
        return out


def follow_streams(streams: list[Stream], report: Report, poll: float = POLL) -> Iterator[tuple[Stream, bytes]]:
    """Each stream's existing lines, then new ones as they are written, until no path is left.

    The last file of a stream (svlogd's ``current``) is followed across rotation; a line split
    between the last rotated file and ``current`` still comes out whole. A .gz file is read once,
    not followed (nothing appends to a compressed file). Files that cannot be read are
    reported; a followed file that cannot be read on is reported and no longer followed.
    """
    followers: list[tuple[Stream, Follower]] = []
    for stream in streams:
        # stdin streams by itself, until it ends; a gzip file is complete: read once, decompressed
        if stream.is_stdin or (stream.directory is None and _compressed(stream.files[-1])):
            for block in blocks(stream, report):
                yield stream, block
            continue
        directory = None if stream.directory is None else Path(stream.directory)
        files = [Path(p) for p in stream.files]
        if directory is not None:
            target = directory / "current"
            before = [p for p in files if p != target]
        else:
            target, before = files[-1], files[:-1]
        rest = b""
        if before:
            for block in blocks(Stream(stream.name, [str(p) for p in before], stream.directory), report):
                if block.endswith(b"\n"):
                    yield stream, block
                else:
                    rest = block
        follower = Follower(target, report, directory=directory, seen={p.name for p in before})
        follower.lines.pending = rest
        followers.append((stream, follower))
    while followers:
        idle = True
        for stream, follower in list(followers):
            try:
                data = follower.read()
            except ReadError as exc:
                report(str(exc))
                followers.remove((stream, follower))
                continue
            if data:
                idle = False
                yield stream, data
        if idle:
            time.sleep(poll)


def _compressed(path: str) -> bool:
    """A gzip file is complete: read once, not followed. One that cannot be read is followed
    (and its error reported) like any other."""
    try:
        return is_gzip(path)
    except OSError:
        return False
