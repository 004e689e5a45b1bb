"""An svlogd directory: its files in reading order, and when each was rotated.

svlogd names a file it rotates after the moment it did so (``@<tai64n>.s``, or ``.u`` when
the file was cut without a newline at its end), so name order is time order and a file rotated
later sorts after every file that existed before it. ``current`` is the file being written; it
is read last. When its ``n`` limit is reached svlogd deletes the oldest rotated file.

With a processor (a ``!`` line in the directory's ``config``; ``!gzip``, say) svlogd renames
``current`` to ``@<stamp>.u``, feeds it to the processor, whose output becomes a new file,
``@<stamp>.s``, and then deletes the ``.u``. The ``.u`` is the file the shipper read as
``current``; the ``.s`` holds the same lines as the processor left them (compressed).
"""

from __future__ import annotations

import bisect
import os
import time

from logmagic.ship.files import File
from logmagic.tail import ROTATED_NAME, TAI_OFFSET, ident, svlogd_processor


def listing(directory: str, whole: bool = True) -> list[File]:
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
    if rotated and svlogd_processor(directory):
        rotated = _originals_first(rotated)
    base = directory + os.sep
    return [File(base + n, n) for n in (*rotated, *last)]


def _originals_first(rotated: list[str]) -> list[str]:
    """One name per rotation: the ``.u`` (``current`` renamed, the file that was read) while
    the processor works, else its output."""
    working = {n[:-2] for n in rotated if n.endswith(".u")}
    return [n for n in rotated if not (n.endswith(".s") and n[:-2] in working)]


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
