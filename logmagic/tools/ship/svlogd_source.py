"""An svlogd directory as a source: its rotated files and then ``current``, read as one stream.

A line svlogd split across a rotation (the rotated file ends without a newline) is stitched
whole, because a partial line is carried from one file into the next. The file being read
as ``current`` is read to its end through its descriptor after svlogd renamed it, then the
files rotated after it, then the new ``current``; files deleted by svlogd's ``n`` limit
before they were read are counted and named.

When svlogd runs a processor, a rotated file may be its gzip output: one that was not read
as ``current`` is read from a decompressed copy (the listing keeps the ``.u`` of a rotation
being processed, ``logfiles.svlogd.ORIGINAL``); the output of the file that was read is not
sent again.
"""

from __future__ import annotations

import os
import tempfile
import zlib

from logmagic.tools.logfiles import svlogd
from logmagic.tools.logfiles.compressed import GZIP_MAGIC, GzipReader
from logmagic.tools.logfiles.identity import File, ident
from logmagic.tools.logfiles.prefix import without_prefix
from logmagic.tools.ship.source import Opened, Position, Source

__all__ = ["SvlogdSource"]


class SvlogdSource(Source):
    """Follow the svlogd directory ``path``; its timestamp prefixes are taken off unless
    ``keep_prefix``."""

    directory = True
    strip_prefix = staticmethod(without_prefix)

    def _setup(self) -> None:
        self._cached: list[File] = []  # the directory as last listed

    def _listing(self, whole: bool = True) -> list[File]:
        """The files that may be read, in reading order, one per rotation.

        A rotation whose ``.u`` the processor deleted after the directory was read (its output
        was renamed into place first) is listed by its ``.s``: without it, the name of the
        newest rotation would be an older one's, and the output of the file read as
        ``current`` would be taken for the next file and sent again.
        """
        files = []
        for f in svlogd.listing(self.path, whole, keep=svlogd.ORIGINAL):
            if self._accepts(f.path):
                files.append(f)
            elif f.name.endswith(svlogd.ORIGINAL) and not os.path.lexists(f.path):
                output = f.name.removesuffix(svlogd.ORIGINAL) + svlogd.OUTPUT
                if self._accepts(self._path_of(output)):
                    files.append(File(self._path_of(output), output))
        return files

    def _path_of(self, name: str) -> str:
        return os.path.join(self.path, name)

    def _resume(self, pos: Position) -> bool:
        listing = self._listing()
        by_name = [p for p in listing if p.name == pos.name]
        candidates = by_name + [p for p in listing if p.name > pos.after] + listing
        found = self._reopen(pos, list(dict.fromkeys(candidates)))  # each file looked at once
        if found is not None:
            return found
        since = pos.after if pos.name == "current" else pos.name
        later = [p for p in listing if p.name > since]
        # Processed while the shipper was down: the output (a new inode) holds its lines. The
        # file read last was ``current`` (its output is the first rotated file after it) or the
        # ``.u`` it was renamed to (its output is the ``.s`` of the same stamp).
        if pos.name == "current":
            output = later[0] if later and later[0].name.endswith(".s") else None
        else:
            output = next((p for p in listing if pos.name.endswith(".u") and p.name == pos.name[:-2] + ".s"), None)
        if output is not None and svlogd.has_processor(self.path) and self._open_at(pos, output):
            return True
        if not later or not self._open(later[0], 0):
            return False
        self._gap(
            f"{self.path}: the file read last ({pos.name}) is gone; lines after offset {pos.offset}"
            f" are lost, and those of any file rotated before {later[0].name} that was deleted too"
        )
        return True

    def _open_fd(self, file: File) -> Opened | None:
        """A descriptor on ``file``; a rotated file that the processor compressed is read from
        a decompressed copy, which ``_use`` knows by the device and inode of the file on disk."""
        opened = super()._open_fd(file)
        if opened is None or file.name == "current" or os.pread(opened.fd, 2, 0) != GZIP_MAGIC:
            return opened
        st = os.fstat(opened.fd)
        return Opened(self._decompressed(opened.fd, file), (st.st_dev, st.st_ino))

    def _decompressed(self, fd: int, file: File) -> int:
        """A descriptor on an unnamed file holding what ``fd`` (gzip) decompresses to; ``fd``
        is closed. What follows a corrupt part or a missing end is lost, and counted as a gap."""
        copy = tempfile.TemporaryFile()  # noqa: SIM115 - its descriptor is duplicated and kept
        problem = ""
        size = whole = 0  # bytes written; bytes up to the last newline
        with open(fd, "rb", buffering=0) as raw:
            reader = GzipReader(raw)
            try:
                while out := reader.read(1 << 20):
                    copy.write(out)
                    size += len(out)
                    if b"\n" in out:
                        whole = size - len(out) + out.rfind(b"\n") + 1
            except EOFError:
                problem = "it ends early"
            except (OSError, zlib.error) as exc:
                problem = str(exc)
        if problem:  # the line it breaks off in is not continued by the next file: left out
            copy.truncate(whole)
            self._gap(f"{self.path}: {svlogd.named([file.name])} is not whole gzip ({problem}): its end is lost")
        copy.flush()
        try:
            return os.dup(copy.fileno())
        finally:
            copy.close()

    def _used(self, file: File) -> None:
        if not self._cached or self._cached[-1].name != "current" or file.name == "current":
            self._cached = self._listing()
        rotated_names = [p.name for p in self._cached if p.name != "current"]
        self._after = rotated_names[-1] if rotated_names else ""

    def _at_end(self, lines: list[bytes]) -> bool:
        if self._done:
            return self._next_file()
        if self._name == "current" and ident(os.path.join(self.path, "current")) == self._ident_of_open():
            return False  # still `current`: wait for more
        self._done = True  # rotated (or a rotated file read to its end): read what is left, go on
        return True

    def _next(self) -> bool:
        """The next file, from the last listing when it has one, else from a new listing."""
        nxt = self._successor(self._cached, fresh=False)
        if nxt is None or nxt.name == "current" or not self._open_next(nxt):
            # `current` from an old listing may skip files svlogd rotated since; a file that
            # could not be opened may have been deleted: list again.
            nxt = self._relist()
            if nxt is None or not self._open_next(nxt):
                return False
        return True

    def _successor(self, listing: list[File], fresh: bool) -> File | None:
        self._name, nxt = svlogd.successor(
            listing, self._name, self._after, self._ident_of_open(), fresh, svlogd.has_processor(self.path)
        )
        return nxt

    def _relist(self) -> File | None:
        """List the directory again: the file after the open one, once the rotated files deleted
        before they were read are counted."""
        before = self._cached
        listing = self._listing()
        nxt = self._successor(listing, fresh=True)
        if nxt is None:
            return None  # nothing after the open file yet: keep the old listing to compare with
        self._cached = listing
        since = self._name if self._name != "current" else self._after
        if since.endswith(svlogd.OUTPUT):
            # The old listing may show this rotation by its `.u` (listed before the processor
            # finished), which sorts after its `.s`: the same lines, not a later file deleted.
            since = since.removesuffix(svlogd.OUTPUT) + svlogd.ORIGINAL
        # With a processor, svlogd deletes each rotated file once processed: no sign of a loss.
        deleted = self._unlinked() and not svlogd.has_processor(self.path)
        lost, unseen = svlogd.deleted_unread(before, since, nxt, deleted)
        if lost or unseen:
            note = svlogd.deleted_note(lost, unseen, os.fstat(self._fd).st_mtime, nxt.name)
            self._gap(f"{self.path}: {note}", len(lost) + unseen)
        return nxt

    def _open_next(self, nxt: File) -> bool:
        finished = self._name if self._name != "current" else self._after
        if not self._open(nxt, 0):
            return False
        if nxt.name == "current" and self._after > finished:
            # svlogd rotated between the listing and the open: the oldest of the files rotated
            # since the finished one comes first (it may be the file just opened, renamed).
            later = [p for p in self._cached if p.name != "current" and p.name > finished]
            if not self._open(later[0], 0):
                self._gap(f"{self.path}: {svlogd.named([later[0].name])} could not be read; its lines are lost")
        return True

    def _lag_from(self, position: Position, listing: list[File]) -> tuple[int, int] | None:
        """A ``current`` that has rotated since: the first rotated file after ``after``, or, when
        that is its processor's output, what follows it (what is left of it is not known)."""
        if position.name != "current":
            return None
        names = [p.name for p in listing]
        newer = [i for i, n in enumerate(names) if n > position.after]
        if newer and ident(listing[newer[0]].path) == (position.file.dev, position.file.ino):
            return newer[0], position.offset
        if newer and names[newer[0]].endswith(".s") and svlogd.has_processor(self.path):
            return newer[0] + 1, 0
        return None
