"""The shipper's state file: per source, the position after the last acknowledged line.

Written atomically (a temporary file in the same directory, ``fsync``, ``rename``, then an
``fsync`` of the directory), so a crash leaves either the old state or the new one, never a
torn file. The temporary file has an unpredictable name and is created ``O_EXCL`` (never
through a link another user put there: the directory may be world-writable). A state file
that cannot be read, is a symbolic link or holds values no file position can have is an
error, not a silent restart from zero.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from typing import Any

import orjson

from logmagic.tools.logfiles.identity import FINGERPRINT_BYTES, open_regular
from logmagic.tools.ship.source import Position

VERSION = 1
#: Largest offset a file can have (``off_t``), and largest device or inode number.
MAX_OFFSET = (1 << 63) - 1
MAX_ID = (1 << 64) - 1


class StateError(Exception):
    """The state file exists but cannot be used."""


class StateFile:
    """Load and save ``{source path: Position}``."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.positions: dict[str, Position] = {}

    def load(self) -> dict[str, Position]:
        data: Any = read_json(self.path, "state file")
        if data is None:
            return {}
        if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("sources"), dict):
            raise StateError(f"state file {self.path}: not a logmagic ship state (version {VERSION})")
        try:
            self.positions = {k: Position.from_json(_checked(v)) for k, v in data["sources"].items()}
        except ValueError as exc:
            raise StateError(f"state file {self.path}: malformed entry: {exc}") from None
        return dict(self.positions)

    def save(self, positions: dict[str, Position]) -> None:
        self.positions = dict(positions)
        body = orjson.dumps(
            {"version": VERSION, "sources": {k: p.to_json() for k, p in positions.items()}}, option=orjson.OPT_INDENT_2
        )
        write_atomically(self.path, body)


def read_json(path: str, what: str) -> Any:
    """The JSON in the file at ``path``; None when there is no such file.

    ``StateError`` when it cannot be read, is not JSON, is a symbolic link (it is never
    followed: the directory may be writable by others) or is not a regular file (a FIFO
    would block the open for ever).
    """
    try:
        with open(open_regular(path), "rb") as f:
            return orjson.loads(f.read())
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError) as exc:
        if os.path.islink(path):
            raise StateError(f"{what} {path}: is a symbolic link; refusing to follow it") from None
        raise StateError(f"{what} {path}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from None


def _checked(entry: Any) -> dict[str, Any]:
    """``entry``, if it has the fields of a position, of their types, with numbers that can be a
    place in a file (a negative or too large offset cannot be sought); ``ValueError`` if not."""
    if not isinstance(entry, dict):
        raise ValueError(f"{entry!r} is not an object")
    bounds = {"offset": MAX_OFFSET, "dev": MAX_ID, "ino": MAX_ID, "fp_len": FINGERPRINT_BYTES}
    for key, top in bounds.items():
        value = entry.get(key)
        if type(value) is not int or not 0 <= value <= top:
            raise ValueError(f"{key} {value!r} is not a whole number between 0 and {top}")
    for key in ("fp", "name", "after"):
        if not isinstance(entry.get(key, ""), str):
            raise ValueError(f"{key} {entry[key]!r} is not a string")
    if "fp" not in entry or "name" not in entry:
        raise ValueError("fp and name are required")
    return entry


def write_atomically(path: str, body: bytes, sync: bool = True) -> None:
    """Replace ``path`` with ``body`` so that readers see the old or the new content, whole.

    The temporary file is made by ``mkstemp`` (``O_EXCL``, a random name) beside ``path``: in
    a directory that others may write, a link planted at a predictable name would make the
    shipper overwrite the file it points to. ``path`` itself is replaced by ``rename``, which
    never follows a link; a ``path`` that is a symbolic link is refused all the same
    (``OSError`` ``ELOOP``), since it means someone else is choosing where the state goes.
    """
    directory = os.path.dirname(path) or "."
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise OSError(errno.ELOOP, "is a symbolic link; refusing to replace it", path)
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f"{os.path.basename(path)}.tmp.", dir=directory)
    try:
        os.fchmod(fd, 0o644)  # positions and counters, no secret: `--status` may run as another user
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
        if sync:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
