"""Recognizing a log file across renames, and taking svlogd's timestamp off a line.

A file is known by its device and inode plus a fingerprint of its first bytes: the inode
follows a rename (svlogd's ``current`` becoming ``@….s``, logrotate's ``app.log`` becoming
``app.log.1``), and the fingerprint tells a reused inode, or a copy made by ``copytruncate``,
from the file that was read.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from typing import NamedTuple

from logmagic.tail import open_regular, prefix_length

#: Bytes at the start of a file that make its fingerprint.
FINGERPRINT_BYTES = 512


def strip_svlogd_prefix(line: bytes) -> bytes:
    """``line`` without the timestamp svlogd ``-t``/``-tt``/``-ttt`` put in front of it.

    JSON lines start with ``{``: for them this is one comparison.
    """
    if line[:1] == b"{":
        return line
    n = prefix_length(line)
    return line[n:] if n else line


class File(NamedTuple):
    """A file of a source: its path, and its name in an svlogd directory (the path otherwise)."""

    path: str
    name: str


class Refused(Exception):
    """A file the shipper does not read, and why; ``ident`` (device, inode) says which, so
    that a refusal is logged once, not at every look."""

    def __init__(self, path: str, reason: str, ident: tuple[int, int]) -> None:
        super().__init__(f"{path}: {reason}; not shipped")
        self.ident = ident


@dataclass(frozen=True)
class Trust:
    """Which log files the shipper reads, as root, in directories that other users write.

    Never a symbolic link (``@….s -> /etc/shadow`` would send that file to the collector)
    nor anything but a regular file (a FIFO blocks, ``/dev/zero`` never ends). By default
    only a file owned by the owner of its directory, with one name: a file of another user
    was not written by the service, and a hard link may be a file from outside the tree.
    """

    foreign_owner: bool = False  # --allow-foreign-owner
    hard_links: bool = False  # --allow-hard-links

    def check(self, path: str, st: os.stat_result) -> None:
        """Raise ``Refused`` when the file at ``path`` (``st``, from ``lstat`` or ``fstat``) is not read."""
        reason = self._reason(path, st)
        if reason:
            raise Refused(path, reason, (st.st_dev, st.st_ino))

    def _reason(self, path: str, st: os.stat_result) -> str:
        if stat.S_ISLNK(st.st_mode):
            return "a symbolic link"
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file"
        if not self.foreign_owner:
            owner = os.stat(os.path.dirname(path) or ".").st_uid
            if st.st_uid != owner:
                return f"owned by uid {st.st_uid}, not by its directory's owner, uid {owner} (--allow-foreign-owner)"
        if not self.hard_links and st.st_nlink > 1:
            return f"has {st.st_nlink} hard links (--allow-hard-links)"
        return ""

    def open(self, path: str) -> int:
        """A read-only descriptor on the log file at ``path``: ``Refused`` when it is not one to
        read, ``OSError`` when it cannot be opened. Looked at before the open (a device is never
        opened), then the open file itself (it may have been replaced in between)."""
        self.check(path, os.lstat(path))
        try:
            fd = open_regular(path)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.EINVAL):
                raise
            st = os.lstat(path)  # replaced since it was looked at
            self.check(path, st)
            raise Refused(path, "not a regular file", (st.st_dev, st.st_ino)) from None
        try:
            self.check(path, os.fstat(fd))
        except BaseException:
            os.close(fd)
            raise
        return fd


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


@dataclass(frozen=True)
class FileId:
    """Who a file is: device, inode, and a digest of its first ``fp_len`` bytes."""

    dev: int
    ino: int
    fp: str
    fp_len: int

    @classmethod
    def of_fd(cls, fd: int) -> FileId:
        st = os.fstat(fd)
        head = os.pread(fd, FINGERPRINT_BYTES, 0)
        return cls(st.st_dev, st.st_ino, _digest(head), len(head))

    def refreshed(self, fd: int) -> FileId:
        """The same file with a longer fingerprint, once it has grown past the old one."""
        if self.fp_len >= FINGERPRINT_BYTES:
            return self
        head = os.pread(fd, FINGERPRINT_BYTES, 0)
        if len(head) == self.fp_len:
            return self
        return FileId(self.dev, self.ino, _digest(head), len(head))

    def matches(self, fd: int) -> bool:
        """Whether the open file ``fd`` starts with the bytes this id was made from.

        A file that no longer does was truncated and written again (``copytruncate``), or its
        inode was reused by another file.
        """
        head = os.pread(fd, self.fp_len, 0)
        return len(head) == self.fp_len and _digest(head) == self.fp

    def starts(self, head: bytes) -> bool:
        """Whether ``head`` (a file's first bytes, read some other way) starts like this file."""
        return len(head) >= self.fp_len and _digest(head[: self.fp_len]) == self.fp

    def same_start(self, path: str) -> bool:
        """Whether the file at ``path`` starts with the bytes this id was made from."""
        try:
            fd = open_regular(path)
        except OSError:
            return False
        try:
            return self.matches(fd)
        finally:
            os.close(fd)

    def to_json(self) -> dict[str, object]:
        return {"dev": self.dev, "ino": self.ino, "fp": self.fp, "fp_len": self.fp_len}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FileId:
        return cls(int(data["dev"]), int(data["ino"]), str(data["fp"]), int(data["fp_len"]))  # type: ignore[call-overload]
