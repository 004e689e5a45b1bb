"""The generations logrotate makes beside a followed file: ``app.log.1``, ``app.log-20261122``, ``app.log.2.gz``.

A follower looks at them when the file it follows was renamed, truncated or replaced while it
was not looking: to find the file it was reading (by device and inode), the copy
``copytruncate`` made of it (by its first bytes), and the generations rotated in between (by
modification time), so that none is skipped without being read or counted.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass

from logmagic.tools.logfiles import compressed
from logmagic.tools.logfiles.identity import FINGERPRINT_BYTES, File, FileId

__all__ = ["COMPRESSED", "SUFFIX", "Sibling", "compressed_head", "copy_of", "rotated_after", "siblings"]

#: Compressed rotations, known by their names: never read, only their first bytes, to tell them apart.
COMPRESSED = (".gz", ".bz2", ".xz", ".zst")
#: A numeric suffix, ``.1`` or ``.12``: logrotate's count, the higher the older.
_COUNT = re.compile(r"\.([0-9]+)$")
#: What logrotate puts after the name: ``.1``, ``-20261122``, ``.2026-11-22``, ``-2026112206``.
#: Other files that merely start with the name (``app.log.tmp``, ``app.logger``) are not its.
SUFFIX = re.compile(r"[._-][0-9][0-9._:T-]*")


@dataclass(frozen=True)
class Sibling:
    """A rotated generation of the followed file, as it was when the directory was read."""

    file: File
    ident: tuple[int, int]
    size: int
    mtime: int  # nanoseconds
    compressed: bool


def siblings(path: str, accept: Callable[[str, os.stat_result], bool] = lambda path, st: True) -> list[Sibling]:
    """The rotated generations of ``path`` in its directory, compressed ones included: regular
    files (a symbolic link is not one) that ``accept`` takes."""
    directory, base = os.path.split(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    found = []
    for name in names:
        if not name.startswith(base) or name == base:
            continue
        suffix = name[len(base) :]
        compressed = suffix.endswith(COMPRESSED)
        if not SUFFIX.fullmatch(suffix.rsplit(".", 1)[0] if compressed else suffix):
            continue
        full = os.path.join(directory, name)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and accept(full, st):
            found.append(Sibling(File(full, full), (st.st_dev, st.st_ino), st.st_size, st.st_mtime_ns, compressed))
    return found


def copy_of(file: FileId, offset: int, found: list[Sibling]) -> Sibling | None:
    """The copy ``copytruncate`` made of ``file``: the newest generation that starts with its
    first bytes and holds ``offset`` bytes.

    A short fingerprint (the file held a line or two when it was taken) also matches older
    generations that start with the same line: then only the newest generation may be the copy.
    """
    newest = sorted((s for s in found if not s.compressed and s.size >= offset), key=lambda s: s.mtime, reverse=True)
    if file.fp_len < FINGERPRINT_BYTES:
        newest = newest[:1]
    return next((s for s in newest if file.same_start(s.file.path)), None)


def compressed_head(sibling: Sibling) -> bytes | None:
    """The first bytes of a compressed generation, decompressed; None when they cannot be read
    (a format the standard library does not read, such as ``.zst``, or a damaged file)."""
    return compressed.head(sibling.file.path, FINGERPRINT_BYTES)


def _age(s: Sibling) -> tuple[int, int, str]:
    """Sort key, oldest first: modification time, then logrotate's count (``.2`` before ``.1``)."""
    path = os.path.splitext(s.file.path)[0] if s.compressed else s.file.path
    m = _COUNT.search(path)
    return s.mtime, -int(m.group(1)) if m else 0, s.file.path


def rotated_after(found: list[Sibling], mtime: int, skip: set[tuple[int, int]]) -> tuple[list[Sibling], File | None]:
    """The generations written after a file last changed at ``mtime``, leaving out the files ``skip``.

    ``skip`` holds the generations already read or known to be older (by device and inode):
    modification times alone mislead, when two generations share one (whole-second clocks) or
    the application wrote into the renamed file after a quiet new one was made.
    Returns the compressed ones older than the first readable one (lost: a follower does not
    read compressed generations) and that readable one (None when there is none).
    Compression keeps a file's time: a compressed generation counts only if strictly newer.
    """
    later = sorted(
        (s for s in found if s.ident not in skip and (s.mtime > mtime or (s.mtime == mtime and not s.compressed))),
        key=_age,
    )
    lost: list[Sibling] = []
    for s in later:
        if not s.compressed:
            return lost, s.file
        lost.append(s)
    return lost, None
