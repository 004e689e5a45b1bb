"""Who a log file is, and opening it as if an attacker had prepared it.

A file is known by its device and inode plus a fingerprint of its first bytes: the inode
follows a rename (svlogd's ``current`` becoming ``@….s``, logrotate's ``app.log`` becoming
``app.log.1``), and the fingerprint tells a reused inode, or a copy made by ``copytruncate``,
from the file that was read.

The host tools run as root over directories other users write: a log file is opened without
following a symbolic link and without blocking (a FIFO would wait for a writer), and only a
regular file is read. ``Trust`` adds the shipper's rules about owners and hard links.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "FINGERPRINT_BYTES",
    "File",
    "FileId",
    "Refused",
    "Trust",
    "ident",
    "ident_of_fd",
    "open_regular",
]

#: Bytes at the start of a file that make its fingerprint.
FINGERPRINT_BYTES = 512


class File(NamedTuple):
    """A file of a listing: its path, and its name in an svlogd directory (the path otherwise)."""

    path: str
    name: str


def ident(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """The device and inode of ``path``, None when it does not exist (or cannot be looked at)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def ident_of_fd(fd: int) -> tuple[int, int]:
    """The device and inode of the open file ``fd``."""
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def open_regular(path: str | os.PathLike[str], follow_links: bool = False) -> int:
    """A read-only descriptor on the regular file at ``path``.

    The file is opened without blocking (opening a FIFO for reading waits for a writer, for
    ever if none comes) and, unless ``follow_links``, never through a symbolic link (``ELOOP``);
    anything but a regular file (a FIFO, a device, a socket) is closed again unread:
    ``OSError`` (``EINVAL``, "not a regular file"). Files in directories that other users
    write are opened this way, as if an attacker had prepared them.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags if follow_links else flags | os.O_NOFOLLOW)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


class Refused(Exception):
    """A file that is not read, and why; ``ident`` (device, inode) says which, so that a
    refusal is logged once, not at every look."""

    def __init__(self, path: str, reason: str, ident: tuple[int, int]) -> None:
        super().__init__(f"{path}: {reason}; not shipped")
        self.ident = ident


@dataclass(frozen=True)
class Trust:
    """Which log files are read, as root, in directories that other users write.

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
    import hashlib  # only the shipper fingerprints files: gelf-chainsaw starts without it

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
        """The id of the open file ``fd``, fingerprinted by what it holds now."""
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
        """The id as the shipper's state file holds it."""
        return {"dev": self.dev, "ino": self.ino, "fp": self.fp, "fp_len": self.fp_len}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FileId:
        """The id from the state file's fields (checked by the caller)."""
        return cls(int(data["dev"]), int(data["ino"]), str(data["fp"]), int(data["fp_len"]))  # type: ignore[call-overload]
