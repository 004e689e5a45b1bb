"""One followed source: a log file, or an svlogd directory read as one stream.

A source hands out batches of whole lines and, with each batch, the position just after its
last line. The shipper stores that position once the collector has acknowledged the batch;
after a restart the source resumes there. A position names the file it lies in by
``FileId``, so it stays valid when the file is renamed (svlogd's rotation, logrotate's
``create``), and a copy made by ``copytruncate`` is found by its first bytes.

An svlogd directory is its rotated files (``@….s``/``.u``, in name order) and then
``current``. A line svlogd split across a rotation (the rotated file ends without a newline)
is stitched whole, because a partial line is carried from one file into the next. When svlogd
runs a processor, a rotated file may be its gzip output: that is read from a decompressed copy.

Whether a path is an svlogd directory or a file is decided when it first exists, so a log
directory created after the shipper started is read as one. A file or rotated file that
vanished before it was read is counted (``gaps``) and named, never skipped silently.
"""

from __future__ import annotations

import dataclasses
import errno
import gzip
import os
import stat
import tempfile
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

from logmagic.ship import rotated, svlogd
from logmagic.ship.files import FINGERPRINT_BYTES, File, FileId, Refused, Trust, strip_svlogd_prefix
from logmagic.tail import GZIP_MAGIC, ident, open_regular, svlogd_processor

#: Bytes asked for per read.
CHUNK = 1 << 20
#: Files read lately whose ids a source keeps, to know their compressed generations.
_READ_KEPT = 16
#: Refused files a source remembers, so as to log each refusal once (an attacker making new
#: ones costs a repeated warning, never memory).
_REFUSED_KEPT = 1024


@dataclass
class Position:
    """Where the next unsent line starts: a file, its name when last seen, an offset.

    ``after`` is, for an svlogd ``current``, the newest rotated name seen beside it: the files
    rotated later, the ones to read next if this one is gone, sort after it.
    """

    file: FileId
    name: str
    offset: int
    after: str = ""

    def to_json(self) -> dict[str, object]:
        return {**self.file.to_json(), "name": self.name, "offset": self.offset, "after": self.after}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Position:
        return cls(FileId.from_json(data), str(data["name"]), int(data["offset"]), str(data.get("after", "")))  # type: ignore[call-overload]


@dataclass
class Batch:
    """Whole lines (newline-terminated, svlogd prefix removed unless kept) and where they end."""

    lines: list[bytes]
    end: Position


@dataclass
class Counters:
    """What happened to lines that were not simply read and sent."""

    oversized: int = 0  # lines longer than max_line, sent in pieces
    unterminated: int = 0  # a file ended without a newline and was not continued
    gaps: int = 0  # files deleted (or compressed) before they were read: their lines are lost
    truncations: int = 0  # copytruncate seen
    warnings: list[str] = field(default_factory=list)  # files that could not be read, for the log
    losses: list[str] = field(default_factory=list)  # what was lost and where, for the log


def default_category(path: str, directory: bool) -> str:
    """The service's name: an svlogd directory's own name (``/var/log/api`` → ``api``), above runit's
    ``log/main`` (``/etc/sv/api/log/main`` → ``api``); for a file, its directory's name, or the
    file's name without extension when that directory is a generic one (``/var/log/api.log``)."""
    parts = [p for p in os.path.abspath(path).split(os.sep) if p]
    if directory:
        while len(parts) > 1 and parts[-1] in ("main", "log"):
            parts.pop()
        return parts[-1] if parts else "default"
    if len(parts) >= 2 and parts[-2] not in ("log", "logs", "var", "tmp"):
        return parts[-2]
    return os.path.splitext(parts[-1])[0] if parts else "default"


class _Opened(NamedTuple):
    """A descriptor to read, and the device and inode of the gzip file it is a copy of, if so."""

    fd: int
    copy_of: tuple[int, int] | None


class Source:
    """Follow ``path`` (a file or an svlogd directory) and cut it into batches of lines.

    ``category`` None (or empty) means the service's name (``default_category``), known once
    the path exists. ``finished`` turns true when a followed file was deleted and has been read
    to its end: its descriptor is closed, and nothing more will come from this source.
    """

    def __init__(
        self,
        path: str,
        category: str | None = None,
        *,
        keep_prefix: bool = False,
        max_line: int = 1 << 20,
        trust: Trust = Trust(),  # noqa: B008 - frozen, shared safely
    ) -> None:
        self.path = os.path.abspath(path)
        self.trust = trust
        self.category = category or ""
        self.keep_prefix = keep_prefix
        self.max_line = max_line
        self.svlogd: bool | None = None  # decided when the path first exists
        self.finished = False
        self.counters = Counters()
        self._strip = False  # take svlogd's timestamps off (svlogd directories only)
        self._fd = -1
        self._id: FileId | None = None
        self._name = ""  # basename (svlogd) or path of the open file, as last seen
        self._after = ""
        self._pos = 0  # next byte to read from the open file
        self._done = False  # the open file was rotated away: read it to its end, then move on
        self._pending = b""  # the start of a line whose newline has not been read yet
        self._continued = False  # the pending bytes finish a line already sent in part (too long)
        self._boundary: Position | None = None  # just after the last whole line read
        self._cached: list[File] = []  # svlogd: the directory as last listed
        #: A file: generations beside it that are read already, or were there when the file
        #: itself was opened (older), by device and inode; and the ids of the files read
        #: lately, to know a compressed generation as one of them.
        self._older: set[tuple[int, int]] = set()
        self._read: list[FileId] = []
        self._resume_at: Position | None = None
        self._reading_copy = False  # the open file is a decompressed copy (see _open_fd)
        self._warned = ""  # the last warning given, not repeated until another one
        self._refused: dict[tuple[int, int], str] = {}  # files not read, by device and inode: why
        self._parked = False  # the open file's descriptor was let go (see park)
        self._kind()

    def _kind(self) -> bool:
        """Whether the kind of the source is known: decided, for good, when the path first exists."""
        if self.svlogd is None:
            try:
                mode = os.stat(self.path).st_mode
            except OSError:
                return False
            self.svlogd = stat.S_ISDIR(mode)
            self._strip = self.svlogd and not self.keep_prefix
            self.category = self.category or default_category(self.path, self.svlogd)
        return True

    # -- where to start ---------------------------------------------------------------------

    def resume(self, position: Position | None) -> None:
        """Start at ``position`` (from the state file), or at the oldest data when ``None``.

        The position is kept until a file is opened: a file that cannot be read yet (its
        permissions are being fixed) is not read again from its start once it can be.
        """
        self._resume_at = position

    def _start(self) -> bool:
        if self.finished or not self._kind():
            return False
        pos = self._resume_at
        if pos is None:
            first = self._listing()
            return bool(first) and self._open(first[0], 0)
        found = self._resume_in_directory(pos) if self.svlogd else self._resume_file(pos)
        if found:
            self._resume_at = None
        return found

    def _resume_in_directory(self, pos: Position) -> bool:
        listing = self._listing()
        by_name = [p for p in listing if p.name == pos.name]
        candidates = by_name + [p for p in listing if p.name > pos.after] + listing
        found = self._reopen(pos, list(dict.fromkeys(candidates)))  # each file looked at once
        if found is not None:
            return found
        since = pos.after if pos.name == "current" else pos.name
        later = [p for p in listing if p.name > since]
        # Processed while the shipper was down: the output (a new inode) holds its lines.
        processed = pos.name == "current" and later and later[0].name.endswith(".s")
        if processed and svlogd_processor(self.path) and self._open_at(pos, later[0]):
            return True
        if not later or not self._open(later[0], 0):
            return False
        self._gap(
            f"{self.path}: the file read last ({pos.name}) is gone; lines after offset {pos.offset}"
            f" are lost, and those of any file rotated before {later[0].name} that was deleted too"
        )
        return True

    def _resume_file(self, pos: Position) -> bool:
        here = File(self.path, self.path)
        beside = self._siblings()
        # The file itself, else the generation it became (logrotate `create`): by inode first.
        found = self._reopen(pos, [here, *(s.file for s in beside if not s.compressed)])
        if found is not None:
            self._done = found and self._name != self.path
            return found
        copy = rotated.copy_of(pos.file, pos.offset, beside)  # copytruncate while the shipper was down
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

    def _resume_after_compressed(self, pos: Position, packed: rotated.Sibling, beside: list[rotated.Sibling]) -> bool:
        """The file read last was compressed: its unread lines are lost, the generations rotated
        after it are read before the file itself."""
        lost, between = rotated.rotated_after(beside, packed.mtime, {packed.ident})
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

    def _reopen(self, pos: Position, files: list[File]) -> bool | None:
        """Open the file ``pos`` lies in, among ``files``: recognized by its inode, then its first
        bytes. None when it is not there; False when it is but cannot be opened yet."""
        mine = (pos.file.dev, pos.file.ino)
        for file in files:
            if ident(file.path) == mine and (found := self._open_at(pos, file)) is not None:
                return found
        return None  # not there, or its inode was reused by another file

    def _open_at(self, pos: Position, file: File) -> bool | None:
        """Read ``file`` from ``pos`` when it starts with the bytes of ``pos``'s file; None when
        it does not, False when it cannot be opened."""
        opened = self._open_fd(file)
        if opened is None:
            return False
        if pos.file.matches(opened.fd):
            self._use(opened, file, pos.offset)
            return True
        os.close(opened.fd)
        return None

    # -- reading -----------------------------------------------------------------------------

    def read_batch(self, max_lines: int, max_bytes: int) -> Batch | None:
        """The next whole lines, at most about ``max_bytes`` of them; ``None`` when none are ready."""
        lines: list[bytes] = []
        size = 0
        while len(lines) < max_lines and (size < max_bytes or not lines):
            if self._fd < 0 and not (self._unpark(lines) if self._parked else self._start()):
                break
            if b"\n" in self._pending:  # whole lines left over from a batch that was full
                self._cut(b"", lines, max_lines - len(lines))
                continue
            assert self._id is not None
            if not self._done and not self.svlogd and not self._id.matches(self._fd):
                self._after_truncation()  # truncated and written again since the last read
                continue
            try:
                data = os.read(self._fd, min(CHUNK, max(max_bytes - size, 1 << 16)))
            except OSError as exc:
                self._warn(f"{self.path}: read failed: {exc.strerror or exc}")
                break
            if not data:
                if self._at_end(lines):
                    continue  # read again: lines written just before the rotation, or the next file
                break
            self._pos += len(data)
            size += len(data)
            if self._id.fp_len < FINGERPRINT_BYTES:
                # Opened short (just truncated, just created): a fingerprint of a few bytes
                # would match an older copy made by copytruncate too.
                self._id = self._id.refreshed(self._fd)
            self._cut(data, lines, max_lines - len(lines))
        if not lines:
            return None
        assert self._boundary is not None
        return Batch(lines, self._boundary)

    def _cut(self, data: bytes, lines: list[bytes], limit: int) -> None:
        """Append the whole lines of pending + ``data`` to ``lines``, at most ``limit`` of them;
        the rest stays pending (a partial line, or whole lines for the next batch).

        A line longer than ``max_line`` goes out in pieces of ``max_line`` bytes; a partial one as
        soon as it holds more than that, so what waits for its newline never exceeds it.
        """
        buf = self._pending + data if self._pending else data
        last = buf.rfind(b"\n")
        if last >= 0:
            found = buf[:last].split(b"\n")
            if len(found) > limit:
                found = found[:limit]
                self._pending = buf[sum(map(len, found)) + len(found) :]
            else:
                self._pending = buf[last + 1 :]
            if self._continued or (len(buf) > self.max_line and max(map(len, found)) > self.max_line):
                for line in found:
                    self._add_long(line, lines)
            elif self._strip:
                strip = strip_svlogd_prefix
                lines.extend(strip(line) + b"\n" for line in found)
            else:
                lines.extend(line + b"\n" for line in found)
            self._boundary = self._here()
        else:
            self._pending = buf
        if len(self._pending) > self.max_line and b"\n" not in self._pending:
            end = (len(self._pending) - 1) // self.max_line * self.max_line
            self._pieces(self._pending, end, lines)
            self._pending = self._pending[end:]
            self._continued = True
            self._boundary = self._here()

    def _add_long(self, line: bytes, lines: list[bytes]) -> None:
        """Append a whole line that may be too long, or may finish one that was."""
        if len(line) > self.max_line:
            self._pieces(line, len(line), lines)
        else:
            lines.append((line if self._continued or not self._strip else strip_svlogd_prefix(line)) + b"\n")
        self._continued = False

    def _pieces(self, text: bytes, end: int, lines: list[bytes]) -> None:
        """Append ``text[:end]`` in pieces of ``max_line`` bytes, each as a line; count the line once."""
        first = not self._continued
        if first:
            self.counters.oversized += 1
        for start in range(0, end, self.max_line):
            piece = text[start : start + self.max_line]
            lines.append((strip_svlogd_prefix(piece) if first and start == 0 and self._strip else piece) + b"\n")

    def _here(self) -> Position:
        assert self._id is not None
        return Position(self._id, self._name, self._pos - len(self._pending), self._after)

    # -- files -------------------------------------------------------------------------------

    def _listing(self, whole: bool = True) -> list[File]:
        """The files of the source in reading order (``whole``: see ``svlogd.listing``)."""
        if self.svlogd:
            return [f for f in svlogd.listing(self.path, whole) if self._accepts(f.path)]
        return [File(self.path, self.path)] if self._accepts(self.path) else []

    def _siblings(self) -> list[rotated.Sibling]:
        """The rotated generations beside a followed file that may be read (see ``Trust``)."""
        return rotated.siblings(self.path, self._accepts)

    def _accepts(self, path: str, st: os.stat_result | None = None) -> bool:
        """Whether the file at ``path`` (``st``: its ``lstat``) is there and may be read; a
        refusal is logged once per file."""
        try:
            self.trust.check(path, os.lstat(path) if st is None else st)
        except Refused as refused:
            self._refuse(refused)
            return False
        except OSError:
            return False
        return True

    def _refuse(self, refused: Refused) -> None:
        """Log ``refused`` once: not again while the same file stays refused for the same reason."""
        note = str(refused)
        if self._refused.get(refused.ident) != note:
            if len(self._refused) >= _REFUSED_KEPT:
                self._refused.clear()
            self._refused[refused.ident] = note
            self.counters.warnings.append(note)

    def _open(self, file: File, offset: int) -> bool:
        opened = self._open_fd(file)
        if opened is None:
            return False
        self._use(opened, file, offset)
        return True

    def _open_fd(self, file: File) -> _Opened | None:
        """A descriptor on ``file``; None when it is gone, or cannot be read (warned once).

        A rotated svlogd file that its processor compressed is read from a decompressed copy,
        which ``_use`` knows by the device and inode of the file on disk.
        """
        try:
            fd = self.trust.open(file.path)
        except Refused as refused:
            self._refuse(refused)
            return None
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                self._warn(f"{file.path}: cannot open: {exc.strerror or exc}")
            return None
        self._warned = ""
        if self.svlogd and file.name != "current" and os.pread(fd, 2, 0) == GZIP_MAGIC:
            st = os.fstat(fd)
            return _Opened(self._decompressed(fd, file), (st.st_dev, st.st_ino))
        return _Opened(fd, None)

    def _decompressed(self, fd: int, file: File) -> int:
        """A descriptor on an unnamed file holding what ``fd`` (gzip) decompresses to; ``fd``
        is closed. What follows a corrupt part or a missing end is lost, and counted as a gap."""
        copy = tempfile.TemporaryFile()  # noqa: SIM115 - its descriptor is duplicated and kept
        unpack = zlib.decompressobj(wbits=31)
        problem = ""
        size = whole = 0  # bytes written; bytes up to the last newline
        try:
            while data := os.read(fd, 1 << 20):
                while data:  # gzip files may hold several members, one after the other
                    out = unpack.decompress(data)
                    copy.write(out)
                    size += len(out)
                    whole = size - len(out) + out.rfind(b"\n") + 1 if b"\n" in out else whole
                    data = unpack.unused_data if unpack.eof else b""
                    if data:
                        unpack = zlib.decompressobj(wbits=31)
            if not unpack.eof:
                problem = "it ends early"
        except (OSError, zlib.error) as exc:
            problem = str(exc)
        finally:
            os.close(fd)
        if problem:  # the line it breaks off in is not continued by the next file: left out
            copy.truncate(whole)
            self._gap(f"{self.path}: {svlogd.named([file.name])} is not whole gzip ({problem}): its end is lost")
        copy.flush()
        try:
            return os.dup(copy.fileno())
        finally:
            copy.close()

    def _use(self, opened: _Opened, file: File, offset: int) -> None:
        """Read ``file`` (``opened``) from ``offset`` on, instead of the file open until now."""
        fd = opened.fd
        if self._id is not None and not self.svlogd:
            self._read = [*self._read[-(_READ_KEPT - 1) :], self._id]
        self._close_fd()
        size = os.fstat(fd).st_size
        if offset > size:  # shrank while the shipper was down: copytruncate without a copy
            self._gap(f"{file.path}: shorter than the saved position; reading it from the start")
            offset = 0
        os.lseek(fd, offset, os.SEEK_SET)
        self._fd, self._pos, self._done = fd, offset, False
        self._id = FileId.of_fd(fd)
        if opened.copy_of is not None:  # a decompressed copy: known by the file on disk
            self._id = dataclasses.replace(self._id, dev=opened.copy_of[0], ino=opened.copy_of[1])
        self._reading_copy = opened.copy_of is not None
        self._name = file.name
        if not self.svlogd:
            if file.path == self.path:  # the file itself: every generation beside it is older
                self._older = {s.ident for s in self._siblings()}
            self._older.add((self._id.dev, self._id.ino))
        else:
            if not self._cached or self._cached[-1].name != "current" or file.name == "current":
                self._cached = self._listing()
            rotated_names = [p.name for p in self._cached if p.name != "current"]
            self._after = rotated_names[-1] if rotated_names else ""
        if self._boundary is None or not self._pending:
            self._boundary = self._here()

    def _close_fd(self) -> None:
        if self._fd >= 0:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = -1

    def _unlinked(self) -> bool:
        """Whether the open file has been deleted (it has no name left)."""
        if self._reading_copy:
            return ident(os.path.join(self.path, self._name)) != self._ident_of_open()
        return self._fd >= 0 and os.fstat(self._fd).st_nlink == 0

    def _at_end(self, lines: list[bytes]) -> bool:
        """At the end of the open file: True when there is more to read, in it or in the next file."""
        assert self._id is not None
        if self.svlogd:
            if self._done:
                return self._next_file()
            if self._name == "current" and ident(os.path.join(self.path, "current")) == self._ident_of_open():
                return False  # still `current`: wait for more
            self._done = True  # rotated (or a rotated file read to its end): read what is left, go on
            return True
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
        if self._pending:
            self.counters.unterminated += 1
            self._cut(b"\n", lines, 1)
        self._close_fd()
        self.finished = True

    def _after_truncation(self) -> None:
        """copytruncate: read what was written since the last read from the copy, then the file from 0."""
        assert self._id is not None
        self.counters.truncations += 1
        copy = rotated.copy_of(self._id, self._pos, self._siblings())
        pending = self._pending
        if copy is not None and self._open(copy.file, self._pos):
            self._pending, self._done = pending, True
            return
        self._gap(f"{self.path}: truncated and no copy found; lines written just before are lost")
        self._pending, self._continued = b"", False
        if not self._open(File(self.path, self.path), 0):
            self._close_fd()  # gone as well: start again when it is back

    def _next_file(self) -> bool:
        """The open file is finished: go on with the next one; False when there is none yet."""
        carried, boundary = self._pending, self._boundary
        if not (self._next_in_directory() if self.svlogd else self._next_generation()):
            return False
        # A line svlogd split across the rotation continues in the next file; for a plain file
        # that ended without a newline there is nothing to continue: it is sent as it is.
        if carried and not self.svlogd:
            self.counters.unterminated += 1
            carried += b"\n"
        self._pending, self._boundary = carried, boundary
        return True

    def _next_generation(self) -> bool:
        """A plain file: the generation logrotate made after the finished one, else the file itself."""
        now = ident(self.path)
        if now is None or now == self._ident_of_open():
            return False
        st = os.fstat(self._fd)
        read = [*self._read, *([self._id] if self._id is not None else [])]
        found = [s for s in self._siblings() if not (s.compressed and _one_of(read, s))]
        lost, between = rotated.rotated_after(found, st.st_mtime_ns, {now, *self._older})
        if not self._open(between or File(self.path, self.path), 0):
            return False
        if lost:
            names = ", ".join(s.file.path for s in lost)
            self._gap(f"{self.path}: rotated and compressed before it was read: {names}", len(lost))
        self._done = between is not None  # a rotated generation: read to its end, then what follows
        return True

    def _next_in_directory(self) -> bool:
        """svlogd: the next file, from the last listing when it has one, else from a new listing."""
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
            listing, self._name, self._after, self._ident_of_open(), fresh, svlogd_processor(self.path)
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
        # With a processor, svlogd deletes each rotated file once processed: no sign of a loss.
        deleted = self._unlinked() and not svlogd_processor(self.path)
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

    def _ident_of_open(self) -> tuple[int, int] | None:
        return (self._id.dev, self._id.ino) if self._id is not None else None

    def _gap(self, note: str, files: int = 1) -> None:
        self.counters.gaps += files
        self.counters.losses.append(note)

    def _warn(self, note: str) -> None:
        if note != self._warned:
            self._warned = note
            self.counters.warnings.append(note)

    # -- status ------------------------------------------------------------------------------

    def lag(self, position: Position | None, count_lines: bool = False) -> tuple[int, int | None]:
        """Bytes (and, if asked, lines) from ``position`` to the end of the source.

        The position's file is found by name (a ``current`` that has rotated since counts from
        the first rotated file after ``after``), which is cheap enough to run every second.
        """
        if not self._kind():
            return 0, 0 if count_lines else None
        listing = self._listing(whole=False)
        start_index, offset = 0, 0
        if position is not None:
            names = [p.name for p in listing]
            mine = (position.file.dev, position.file.ino)
            if position.name in names and ident(listing[names.index(position.name)].path) == mine:
                start_index, offset = names.index(position.name), position.offset
            elif self.svlogd and position.name == "current":
                newer = [i for i, n in enumerate(names) if n > position.after]
                if newer and ident(listing[newer[0]].path) == mine:
                    start_index, offset = newer[0], position.offset
                elif newer and names[newer[0]].endswith(".s") and svlogd_processor(self.path):
                    start_index = newer[0] + 1  # its processor's output: what is left of it is not known
        total, lines = 0, 0 if count_lines else None
        for i, p in enumerate(listing[start_index:]):
            begin = offset if i == 0 else 0
            total += max(0, _size(p) - begin)
            if lines is not None:
                lines += _count_newlines(p.path, begin)
        return total, lines

    def close(self) -> None:
        self._close_fd()

    # -- descriptors -------------------------------------------------------------------------

    @property
    def holds_descriptor(self) -> bool:
        """Whether the source keeps a file open now."""
        return self._fd >= 0

    def park(self) -> bool:
        """Let the open file's descriptor go (the shipper holds as many as it may); False when
        it cannot be let go (a decompressed copy has no name to be opened again by).

        The file is opened again by its name, and known by its device and inode, once it has
        something new; renamed meanwhile, it is found as after a restart; deleted meanwhile,
        it counts as read to its end.
        """
        if self._fd < 0 or self._reading_copy:
            return False
        self._close_fd()
        self._parked = True
        return True

    def _unpark(self, lines: list[bytes]) -> bool:
        """Open the parked file again; False when it has nothing new to read yet."""
        assert self._id is not None
        mine = (self._id.dev, self._id.ino)
        path = os.path.join(self.path, self._name) if self.svlogd else self._name
        try:
            st = os.lstat(path)
        except OSError:
            return self._found_again(lines)
        if (st.st_dev, st.st_ino) != mine:
            return self._found_again(lines)
        if st.st_size == self._pos and not self._done:
            return False  # nothing new: no descriptor needed yet
        opened = self._open_fd(File(path, self._name))
        if opened is None:
            return False
        if opened.copy_of is not None or ident_of_fd(opened.fd) != mine:
            os.close(opened.fd)  # replaced between the two looks: found as after a restart
            return self._found_again(lines)
        os.lseek(opened.fd, self._pos, os.SEEK_SET)
        self._fd, self._parked = opened.fd, False
        return True

    def _found_again(self, lines: list[bytes]) -> bool:
        """The parked file is no longer at its name: look for it as for the file read last after
        a restart. A plain file that is nowhere was deleted: it was read to its end."""
        self._parked = False
        saved = self._pos
        assert self._id is not None
        self._resume_at = Position(self._id, self._name, saved, self._after)
        if self._start():
            if self._pos != saved and self._pending:  # another file, from its start: no continuation
                self.counters.unterminated += 1
                self._pending += b"\n"
            return True
        if not self.svlogd and ident(self.path) is None:
            self._resume_at = None
            self._close_deleted(lines)
        return False

    def __repr__(self) -> str:
        kind = {None: "not there yet", True: "svlogd", False: "file"}[self.svlogd]
        return f"<Source {self.path} {kind} category={self.category}>"


def ident_of_fd(fd: int) -> tuple[int, int]:
    """The device and inode of the open file ``fd``."""
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _size(file: File) -> int:
    try:
        return os.stat(file.path).st_size
    except OSError:
        return 0


def _count_newlines(path: str, offset: int) -> int:
    """Lines from ``offset`` (in the lines, for a gzip file) to the end of the file at ``path``."""
    try:
        with open(open_regular(path), "rb") as raw:
            if raw.read(2) != GZIP_MAGIC:
                return _newlines(raw, offset)
            raw.seek(0)
            # a processor's output: count the lines it holds
            with gzip.GzipFile(fileobj=raw) as unpacked:
                return _newlines(unpacked, offset)
    except (OSError, EOFError, zlib.error):
        return 0


def _newlines(f: BinaryIO | gzip.GzipFile, offset: int) -> int:
    f.seek(offset)
    n = 0
    while block := f.read(CHUNK):
        n += block.count(b"\n")
    return n


def _one_of(read: list[FileId], sibling: rotated.Sibling) -> bool:
    """Whether a compressed generation holds one of the files read (compressed after it was read)."""
    head = rotated.compressed_head(sibling)
    return head is not None and any(fid.starts(head) for fid in read)
