"""What every followed source shares: batches of whole lines and the position after them.

A source hands out batches of whole lines and, with each batch, the position just after its
last line. The shipper stores that position once the collector has acknowledged the batch;
after a restart the source resumes there. A position names the file it lies in by
``FileId``, so it stays valid when the file is renamed (svlogd's rotation, logrotate's
``create``), and a copy made by ``copytruncate`` is found by its first bytes.

``Source`` reads one open file at a time, cuts it into lines (``logfiles.lines``, in pieces
when a line is longer than ``max_line``), refuses files it should not read (``Trust``) and
lets its descriptor go when the shipper has too many open. What comes after the open file,
and where a saved position is found again, depends on the kind of source:
``ship.svlogd_source`` (an svlogd directory read as one stream) and ``ship.file_source`` (a
file that logrotate renames, truncates and compresses). ``ship.kinds`` tells which a path is.
A file or rotated file that vanished before it was read is counted (``gaps``) and named,
never skipped silently.
"""

from __future__ import annotations

import errno
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple, cast

from logmagic.tools.logfiles.compressed import GzipReader, open_content
from logmagic.tools.logfiles.identity import (
    FINGERPRINT_BYTES,
    File,
    FileId,
    Refused,
    Trust,
    ident,
    ident_of_fd,
    open_regular,
)
from logmagic.tools.logfiles.lines import Cutter

__all__ = ["Batch", "Counters", "Position", "Source", "default_category"]

#: Bytes asked for per read.
CHUNK = 1 << 20
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
        """The position as the state file holds it."""
        return {**self.file.to_json(), "name": self.name, "offset": self.offset, "after": self.after}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Position:
        """The position from the state file's fields (checked by ``ship.state``)."""
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


class Opened(NamedTuple):
    """A descriptor to read, and the device and inode of the gzip file it is a copy of, if so."""

    fd: int
    copy_of: tuple[int, int] | None


class Source:
    """Follow ``path`` and cut it into batches of lines; the kinds of source say what comes
    after the open file and where a saved position lies.

    ``category`` None (or empty) means the service's name (``default_category``).
    ``finished`` turns true when a followed file was deleted and has been read to its end:
    its descriptor is closed, and nothing more will come from this source.
    """

    #: Whether the source is a directory (for the default category and messages).
    directory = False
    #: What takes a timestamp prefix off the start of a line (unless ``keep_prefix``); None:
    #: lines are sent as written.
    strip_prefix: Callable[[bytes], bytes] | None = None

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
        self.category = category or default_category(self.path, self.directory)
        self.keep_prefix = keep_prefix
        self.max_line = max_line
        self.finished = False
        self.counters = Counters()
        #: Applied to the start of each line: svlogd directories take the timestamp off.
        self._head: Callable[[bytes], bytes] | None = None if keep_prefix else self.strip_prefix
        self._lines = Cutter(max_line, split=True)  # holds the start of a line not read to its newline
        self._fd = -1
        self._id: FileId | None = None
        self._name = ""  # basename (svlogd) or path of the open file, as last seen
        self._after = ""
        self._pos = 0  # next byte to read from the open file
        self._done = False  # the open file was rotated away: read it to its end, then move on
        self._boundary: Position | None = None  # just after the last whole line read
        self._resume_at: Position | None = None
        self._reading_copy = False  # the open file is a decompressed copy (see Opened)
        self._warned = ""  # the last warning given, not repeated until another one
        self._refused: dict[tuple[int, int], str] = {}  # files not read, by device and inode: why
        self._parked = False  # the open file's descriptor was let go (see park)
        self._setup()

    # -- what each kind of source says -------------------------------------------------------

    def _setup(self) -> None:
        """Make the state of this kind of source (called at the end of ``__init__``)."""

    def _listing(self, whole: bool = True) -> list[File]:
        """The files of the source in reading order that may be read (``whole``: see
        ``logfiles.svlogd.listing``)."""
        raise NotImplementedError

    def _resume(self, pos: Position) -> bool:
        """Open the file ``pos`` lies in, or what comes after it if it is gone (counted)."""
        raise NotImplementedError

    def _at_end(self, lines: list[bytes]) -> bool:
        """At the end of the open file: True when there is more to read, in it or in the next file."""
        raise NotImplementedError

    def _next(self) -> bool:
        """Open the file after the finished one; False when there is none yet."""
        raise NotImplementedError

    def _carried(self, pending: bytes) -> bytes:
        """What of a line the finished file ended in goes on into the next file."""
        return pending

    def _used(self, file: File) -> None:
        """``file`` has just been opened for reading."""

    def _rewritten(self) -> bool:
        """Whether the open file was found rewritten from its start (and dealt with)."""
        return False

    def _path_of(self, name: str) -> str:
        """The path of the file called ``name`` in a position."""
        return name

    def _lag_from(self, position: Position, listing: list[File]) -> tuple[int, int] | None:
        """Where in ``listing`` a position whose file is not found by its name lies: the index
        of a file and an offset in it; None when it is not known."""
        return None

    def _gone(self, lines: list[bytes]) -> None:
        """The file read last is nowhere to be found again."""

    # -- where to start ---------------------------------------------------------------------

    def resume(self, position: Position | None) -> None:
        """Start at ``position`` (from the state file), or at the oldest data when ``None``.

        The position is kept until a file is opened: a file that cannot be read yet (its
        permissions are being fixed) is not read again from its start once it can be.
        """
        self._resume_at = position

    def _start(self) -> bool:
        if self.finished:
            return False
        pos = self._resume_at
        if pos is None:
            first = self._listing()
            return bool(first) and self._open(first[0], 0)
        found = self._resume(pos)
        if found:
            self._resume_at = None
        return found

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
            if b"\n" in self._lines.pending:  # whole lines left over from a batch that was full
                self._cut(b"", lines, max_lines - len(lines))
                continue
            assert self._id is not None
            if not self._done and self._rewritten():
                continue  # truncated and written again since the last read
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
        the rest stays pending (a partial line, or whole lines for the next batch). A line
        longer than ``max_line`` goes out in pieces (see ``logfiles.lines``)."""
        found = self._lines.feed(data, limit, self._head)
        if found:
            lines.extend(found)
            self.counters.oversized = self._lines.oversized
            self._boundary = self._here()

    def _here(self) -> Position:
        assert self._id is not None
        return Position(self._id, self._name, self._pos - len(self._lines.pending), self._after)

    # -- files -------------------------------------------------------------------------------

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

    def _open_fd(self, file: File) -> Opened | None:
        """A descriptor on ``file``; None when it is gone, or cannot be read (warned once)."""
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
        return Opened(fd, None)

    def _use(self, opened: Opened, file: File, offset: int) -> None:
        """Read ``file`` (``opened``) from ``offset`` on, instead of the file open until now."""
        fd = opened.fd
        self._close_fd()
        size = os.fstat(fd).st_size
        if offset > size:  # shrank while the shipper was down: copytruncate without a copy
            self._gap(f"{file.path}: shorter than the saved position; reading it from the start")
            offset = 0
        os.lseek(fd, offset, os.SEEK_SET)
        self._fd, self._pos, self._done = fd, offset, False
        self._id = FileId.of_fd(fd)
        if opened.copy_of is not None:  # a decompressed copy: known by the file on disk
            self._id = FileId(opened.copy_of[0], opened.copy_of[1], self._id.fp, self._id.fp_len)
        self._reading_copy = opened.copy_of is not None
        self._name = file.name
        self._used(file)
        if self._boundary is None or not self._lines.pending:
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
            return ident(self._path_of(self._name)) != self._ident_of_open()
        return self._fd >= 0 and os.fstat(self._fd).st_nlink == 0

    def _next_file(self) -> bool:
        """The open file is finished: go on with the next one; False when there is none yet."""
        carried, boundary = self._lines.pending, self._boundary
        if not self._next():
            return False
        self._lines.pending, self._boundary = self._carried(carried), boundary
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
        listing = self._listing(whole=False)
        start_index, offset = 0, 0
        if position is not None:
            names = [p.name for p in listing]
            mine = (position.file.dev, position.file.ino)
            if position.name in names and ident(listing[names.index(position.name)].path) == mine:
                start_index, offset = names.index(position.name), position.offset
            else:
                start_index, offset = self._lag_from(position, listing) or (0, 0)
        total, lines = 0, 0 if count_lines else None
        for i, p in enumerate(listing[start_index:]):
            begin = offset if i == 0 else 0
            total += max(0, _size(p) - begin)
            if lines is not None:
                lines += _count_newlines(p.path, begin)
        return total, lines

    def close(self) -> None:
        """Let the open file go."""
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
        path = self._path_of(self._name)
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
        a restart (see ``_gone`` for one that is nowhere)."""
        self._parked = False
        saved = self._pos
        assert self._id is not None
        self._resume_at = Position(self._id, self._name, saved, self._after)
        if self._start():
            if self._pos != saved and self._lines.pending:  # another file, from its start: no continuation
                self.counters.unterminated += 1
                self._lines.pending += b"\n"
            return True
        self._gone(lines)
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path} category={self.category}>"


def _size(file: File) -> int:
    try:
        return os.stat(file.path).st_size
    except OSError:
        return 0


def _count_newlines(path: str, offset: int) -> int:
    """Lines from ``offset`` (in the lines, for a gzip file) to the end of the file at ``path``."""
    try:
        reader = open_content(open_regular(path))
    except OSError:
        return 0
    try:
        if isinstance(reader, GzipReader):  # a processor's output: count the lines it holds
            while offset > 0 and (skipped := reader.read(min(offset, CHUNK))):
                offset -= len(skipped)
        else:
            cast(BinaryIO, reader).seek(offset)
        n = 0
        while block := reader.read(CHUNK):
            n += block.count(b"\n")
        return n
    except (OSError, EOFError, zlib.error):
        return 0
    finally:
        reader.close()
