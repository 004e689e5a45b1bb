"""A log file as a source, followed across what logrotate does to it.

``create``: the file is renamed and a new one made; the old one is read to its end first, then
any generation rotated after it that has not been read, then the new file from the start.
``copytruncate``: the file is truncated, seen by its size or, once it has grown back, by its
first bytes; the lines written since the last read are taken from the copy. Compression: a
generation compressed before it was read is a gap; one compressed after it was read is known
by its first bytes. A deleted file is read to its end and the source is finished.
"""

from __future__ import annotations

import os

from logmagic.tools.logfiles import rotation
from logmagic.tools.logfiles.identity import File, FileId, ident
from logmagic.tools.ship.source import Opened, Position, Source

__all__ = ["FileSource"]

#: Files read lately whose ids a source keeps, to know their compressed generations.
_READ_KEPT = 16


class FileSource(Source):
    """Follow the log file ``path``; its lines are sent as written (a timestamp the application
    put there is its own)."""

    def _setup(self) -> None:
        #: Generations beside the file that are read already, or were there when the file itself
        #: was opened (older), by device and inode; and the ids of the files read lately, to know
        #: a compressed generation as one of them.
        self._older: set[tuple[int, int]] = set()
        self._read: list[FileId] = []

    def _listing(self, whole: bool = True) -> list[File]:
        return [File(self.path, self.path)] if self._accepts(self.path) else []

    def _siblings(self) -> list[rotation.Sibling]:
        """The rotated generations beside the file that may be read (see ``Trust``)."""
        return rotation.siblings(self.path, self._accepts)

    def _resume(self, pos: Position) -> bool:
        here = File(self.path, self.path)
        beside = self._siblings()
        # The file itself, else the generation it became (logrotate `create`): by inode first.
        found = self._reopen(pos, [here, *(s.file for s in beside if not s.compressed)])
        if found is not None:
            self._done = found and self._name != self.path
            return found
        copy = rotation.copy_of(pos.file, pos.offset, beside)  # copytruncate while the shipper was down
        if copy is not None:
            found = self._open(copy.file, pos.offset)
            self._done = found
            return found
        packed = next((s for s in beside if s.compressed and _one_of([pos.file], s)), None)
        if packed is not None:  # compressed while the shipper was down: go on after it
            return self._resume_after_compressed(pos, packed, beside)
        if not self._open(here, 0):
            return False
        self._gap(f"{self.path}: the file read last is gone; lines after offset {pos.offset} are lost")
        return True

    def _resume_after_compressed(self, pos: Position, packed: rotation.Sibling, beside: list[rotation.Sibling]) -> bool:
        """The file read last was compressed: its unread lines are lost, the generations rotated
        after it are read before the file itself."""
        lost, between = rotation.rotated_after(beside, packed.mtime, {packed.ident})
        if not self._open(between or File(self.path, self.path), 0):
            return False
        self._done = between is not None
        self._gap(
            f"{self.path}: the file read last was compressed ({packed.file.path}) before it was read to its"
            f" end; lines after offset {pos.offset} are lost"
        )
        if lost:
            names = ", ".join(s.file.path for s in lost)
            self._gap(f"{self.path}: rotated and compressed before it was read: {names}", len(lost))
        return True

    def _use(self, opened: Opened, file: File, offset: int) -> None:
        if self._id is not None:
            self._read = [*self._read[-(_READ_KEPT - 1) :], self._id]
        super()._use(opened, file, offset)

    def _used(self, file: File) -> None:
        if file.path == self.path:  # the file itself: every generation beside it is older
            self._older = {s.ident for s in self._siblings()}
        assert self._id is not None
        self._older.add((self._id.dev, self._id.ino))

    def _rewritten(self) -> bool:
        assert self._id is not None
        if self._id.matches(self._fd):
            return False
        self._after_truncation()
        return True

    def _at_end(self, lines: list[bytes]) -> bool:
        now = ident(self.path)
        if now is None:
            if self._unlinked():
                self._close_deleted(lines)
            return False  # moved away, nothing new yet: wait for the path to come back
        if self._done:
            return self._next_file()
        if now != self._ident_of_open():
            self._done = True  # renamed away (logrotate `create`): drain it, then the new file
            return True
        if os.fstat(self._fd).st_size < self._pos:
            self._after_truncation()
            return True
        return False

    def _close_deleted(self, lines: list[bytes]) -> None:
        """The followed file was deleted and is read to its end: its last line, if unterminated,
        goes out as it is; the descriptor (and with it the disk space) is let go."""
        if self._lines.pending:
            self.counters.unterminated += 1
            self._cut(b"\n", lines, 1)
        self._close_fd()
        self.finished = True

    def _after_truncation(self) -> None:
        """copytruncate: read what was written since the last read from the copy, then the file from 0."""
        assert self._id is not None
        self.counters.truncations += 1
        copy = rotation.copy_of(self._id, self._pos, self._siblings())
        pending = self._lines.pending
        if copy is not None and self._open(copy.file, self._pos):
            self._lines.pending, self._done = pending, True
            return
        self._gap(f"{self.path}: truncated and no copy found; lines written just before are lost")
        self._lines.reset()
        if not self._open(File(self.path, self.path), 0):
            self._close_fd()  # gone as well: start again when it is back

    def _next(self) -> bool:
        """The generation logrotate made after the finished one, else the file itself."""
        now = ident(self.path)
        if now is None or now == self._ident_of_open():
            return False
        mtime = os.fstat(self._fd).st_mtime_ns
        read = [*self._read, *([self._id] if self._id is not None else [])]
        found = [s for s in self._siblings() if not (s.compressed and _one_of(read, s))]
        lost, between = rotation.rotated_after(found, mtime, {now, *self._older})
        if not self._open(between or File(self.path, self.path), 0):
            return False
        if lost:
            names = ", ".join(s.file.path for s in lost)
            self._gap(f"{self.path}: rotated and compressed before it was read: {names}", len(lost))
        self._done = between is not None  # a rotated generation: read to its end, then what follows
        return True

    def _carried(self, pending: bytes) -> bytes:
        """A file that ended without a newline has nothing to continue it: its last line is
        sent as it is, counted."""
        if not pending:
            return pending
        self.counters.unterminated += 1
        return pending + b"\n"

    def _gone(self, lines: list[bytes]) -> None:
        """A parked file that is nowhere was deleted: it was read to its end."""
        if ident(self.path) is None:
            self._resume_at = None
            self._close_deleted(lines)


def _one_of(read: list[FileId], sibling: rotation.Sibling) -> bool:
    """Whether a compressed generation holds one of the files read (compressed after it was read)."""
    head = rotation.compressed_head(sibling)
    return head is not None and any(fid.starts(head) for fid in read)
