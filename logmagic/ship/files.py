"""Recognizing a log file across renames, and taking svlogd's timestamp off a line.

A file is known by its device and inode plus a fingerprint of its first bytes: the inode
follows a rename (svlogd's ``current`` becoming ``@….s``, logrotate's ``app.log`` becoming
``app.log.1``), and the fingerprint tells a reused inode, or a copy made by ``copytruncate``,
from the file that was read.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import NamedTuple

from logmagic.tail import prefix_length

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
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
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
