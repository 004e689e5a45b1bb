"""An svlogd directory: its files in reading order.

svlogd names a file it rotates after the moment it did so (``@<tai64n>.s``, or ``.u`` when
the file was cut without a newline at its end), so name order is time order and a file rotated
later sorts after every file that existed before it. ``current`` is the file being written; it
is read last. When its ``n`` limit is reached svlogd deletes the oldest rotated file.
"""

from __future__ import annotations

import bisect
import os

from logmagic.ship.files import File
from logmagic.tail import ROTATED_NAME


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
    base = directory + os.sep
    return [File(base + n, n) for n in (*rotated, *last)]
