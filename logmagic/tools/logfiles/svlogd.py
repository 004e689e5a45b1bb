"""An svlogd directory: its files in reading order, when each was rotated, and what comes next.

svlogd names a file it rotates after the moment it did so (``@<tai64n>.s``, or ``.u`` when
the file was cut without a newline at its end), so name order is time order and a file rotated
later sorts after every file that existed before it. ``current`` is the file being written; it
is read last. When its ``n`` limit is reached svlogd deletes the oldest rotated file.

With a processor (a ``!`` line in the directory's ``config``; ``!gzip``, say) svlogd renames
``current`` to ``@<stamp>.u``, has the processor write ``@<stamp>.t``, renames that to
``@<stamp>.s`` and only then deletes the ``.u``. While both are there they hold the same lines,
so a listing shows one of them, and which one is the reader's choice (``keep``):

* ``OUTPUT`` (``gelf-chainsaw``): the finished ``.s``, the one still there a moment later; a
  reader that starts now reads each line once from it.
* ``ORIGINAL`` (``logmagic ship``): the ``.u``, which was ``current``: a follower that was
  reading it goes on in it, through its open descriptor, and does not send the output again.
"""

from __future__ import annotations

import bisect
import os
import re
import time

from logmagic.tools.logfiles.identity import File, ident, open_regular
from logmagic.tools.logfiles.prefix import TAI_OFFSET

TYPE_CHECKING = False  # typing's constant without importing typing: the host tools start faster
if TYPE_CHECKING:  # a caller's Path is used, none is made: gelf-chainsaw starts without pathlib
    from pathlib import Path

__all__ = [
    "ORIGINAL",
    "OUTPUT",
    "ROTATED_NAME",
    "deleted_note",
    "deleted_unread",
    "has_processor",
    "listing",
    "named",
    "one_per_rotation",
    "reading_order",
    "rotated_at",
    "rotated_files",
    "successor",
]

#: The name of a file svlogd rotated: ``@<tai64n>.s`` (or ``.u``, cut short).
ROTATED_NAME = re.compile(r"^@[0-9a-f]{24}\.[su]$")
#: Which file of a rotation being processed a listing keeps: the processor's output ...
OUTPUT = ".s"
#: ... or the file that was ``current``.
ORIGINAL = ".u"


def one_per_rotation(names: list[str], keep: str) -> list[str]:
    """``names`` (rotated files) with one file per rotation: where both ``@<stamp>.u`` and
    ``@<stamp>.s`` are there, only the one ending in ``keep`` (``OUTPUT`` or ``ORIGINAL``)."""
    drop = ORIGINAL if keep == OUTPUT else OUTPUT
    kept = {n[:-2] for n in names if n.endswith(keep)}
    return [n for n in names if not (n.endswith(drop) and n[:-2] in kept)]


def reading_order(names: list[str], keep: str) -> list[str]:
    """The svlogd files among ``names``: rotated ones in name order (one per rotation, see
    ``one_per_rotation``), then ``current``; other names are left out."""
    rotated = sorted(n for n in names if ROTATED_NAME.match(n))
    return [*one_per_rotation(rotated, keep), *(["current"] if "current" in names else [])]


def rotated_files(directory: Path) -> list[Path]:
    """Every rotated file in ``directory`` that is a file (either of a rotation being
    processed), oldest first."""
    return sorted(p for p in directory.iterdir() if ROTATED_NAME.match(p.name) and p.is_file())


def has_processor(directory: str | os.PathLike[str]) -> bool:
    """Whether the svlogd ``directory`` has a processor (a ``!`` line in its ``config``): then a
    ``@<stamp>.s`` file is the processor's output, a new file, not ``current`` renamed.

    A ``config`` that is not a regular file (a FIFO, a link) is no configuration."""
    try:
        with open(open_regular(os.path.join(directory, "config")), "rb") as f:
            config = f.read(1 << 16)
    except OSError:
        return False
    return any(line.startswith(b"!") for line in config.splitlines())


def listing(directory: str, whole: bool = True, keep: str = ORIGINAL) -> list[File]:
    """The files of the directory in reading order, from names alone (no ``stat`` per file).

    Reading a directory while svlogd renames files in it is not a snapshot: it can miss a
    file rotated during the read yet return a newer one. With ``whole`` the directory is
    read twice and only the rotated files up to the newest one both reads saw are listed
    (each older one existed before the second read began, so that read has it), and
    ``current`` only when no newer rotated file was left out.
    """
    try:
        first = set(os.listdir(directory)) if whole else None
        names = os.listdir(directory)
    except OSError:
        return []
    found = sorted(n for n in names if ROTATED_NAME.match(n))
    rotated = found
    if first is not None:
        both = [n for n in found if n in first]
        rotated = found[: bisect.bisect_right(found, both[-1])] if both else []
    last = ["current"] if "current" in names and len(rotated) == len(found) else []
    base = directory + os.sep
    return [File(base + n, n) for n in (*one_per_rotation(rotated, keep), *last)]


def rotated_at(name: str) -> str:
    """When svlogd rotated the file ``name`` (UTC, to the second), read from the name."""
    try:
        return _utc(int(name[1:17], 16) - TAI_OFFSET)
    except ValueError:
        return "at an unknown time"


def _utc(seconds: float) -> str:
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
    except (OverflowError, OSError, ValueError):
        return "at an unknown time"


def named(names: list[str]) -> str:
    """``names`` with the time each file was rotated, for a message."""
    return ", ".join(f"{n} (rotated {rotated_at(n)})" for n in names)


def successor(
    files: list[File], name: str, after: str, ours: tuple[int, int] | None, fresh: bool, processor: bool = False
) -> tuple[str, File | None]:
    """The file after the one being read, and the name that one has in ``files``.

    ``name`` is the file's name when it was opened: if it was ``current`` it has been rotated
    since, and is now the oldest rotated file newer than ``after`` (the newest rotated name
    seen then), recognized by its inode ``ours``; or, with a ``processor``, that file's
    output, a ``.s`` file with an inode of its own, which holds the lines read already. In a
    listing that is not ``fresh`` and does not show that file yet, None comes next: list again.
    """
    if not files:
        return name, None
    names = [p.name for p in files]
    if name == "current":
        i = bisect.bisect_right(names, after)
        if (
            i < len(files)
            and names[i] != "current"
            and (ident(files[i].path) == ours or (processor and names[i].endswith(".s")))
        ):
            name = names[i]
            i += 1
        elif not fresh:
            return name, None
    else:
        i = bisect.bisect_right(names, name)
    if i >= len(files) or ident(files[i].path) == ours:
        return name, None
    return name, files[i]


def deleted_unread(before: list[File], since: str, nxt: File, open_deleted: bool) -> tuple[list[str], bool]:
    """The rotated files of the listing ``before`` that came after the file being read and before
    ``nxt``: they are gone, or ``nxt`` would be one of them. And whether others may be gone unseen.

    ``since`` is the name of the file being read, or the newest rotated name beside it when it
    was opened as ``current``. Files rotated after ``before`` was listed and deleted before
    ``nxt`` was found were never seen: that can only be when ``nxt`` is newer than every file
    listed then and the file just before it was deleted too (svlogd deletes the oldest first):
    one of those lost, or the file being read (``open_deleted``).
    """
    known = [p.name for p in before if p.name != "current"]
    last = nxt.name if nxt.name != "current" else None
    lost = [n for n in known if n > since and (last is None or n < last)]
    newer = last is not None and (not known or last > known[-1])
    return lost, newer and bool(lost or open_deleted)


def deleted_note(lost: list[str], unseen: bool, last_write: float, nxt: str) -> str:
    """What svlogd deleted before it was read, for the log: the files ``lost`` by name and
    rotation time, and if ``unseen`` ones may be gone too, the span they were rotated in (after
    the last lost file, or after ``last_write``, the last write to the file being read)."""
    if lost:
        note = f"svlogd deleted {named(lost)} before they were read"
        since = rotated_at(lost[-1])
    else:
        note = "svlogd deleted the file being read (it was read to its end all the same)"
        since = _utc(last_write)
    if unseen:
        note += f", and any file it rotated between {since} and {rotated_at(nxt)}, unseen"
    return note + ": their lines are lost"
