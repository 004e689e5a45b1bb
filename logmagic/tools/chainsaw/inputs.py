"""What gelf-chainsaw reads: its command-line paths as streams of files.

A file or a gzip file is a stream of its own, ``-`` is stdin, and a directory is read the way
svlogd writes it: rotated files in name order, then ``current``. While svlogd's processor
works, a rotation has both a ``@<stamp>.u`` and a ``@<stamp>.s``: only the finished ``.s`` is
read, so no line comes twice. ``-r`` walks a tree of service log directories.
"""

from __future__ import annotations

import errno
import os
import stat

from logmagic.tools.logfiles.streams import Report, Stream, why_unreadable

__all__ = ["streams_for"]


def streams_for(paths: list[str], report: Report, recursive: bool = False) -> list[Stream]:
    """The streams to read for command-line paths: files, .gz files, svlogd dirs, ``-`` (stdin).

    A path that cannot be read is reported in one line and left out; the others are kept.
    """
    if not paths:
        return [Stream("-")]
    out: list[Stream] = []
    for raw in paths:
        if raw == "-":
            out.append(Stream("-"))
        else:
            out.extend(_path_streams(raw, recursive, report))
    return out


#: What makes a path "no such file or directory" rather than an error of its own.
_MISSING = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)


def clean(path: str) -> str:
    """``path`` as ``pathlib`` writes it: no empty or ``.`` parts, no slash at the end."""
    lead = "//" if path.startswith("//") and not path.startswith("///") else "/" if path.startswith("/") else ""
    return lead + "/".join(p for p in path.split("/") if p and p != ".") or "."


def _join(directory: str, name: str) -> str:
    """``name`` inside the clean path ``directory`` (just ``name`` inside ``.``, as grep -r names it)."""
    if directory == ".":
        return name
    return directory + name if directory.endswith("/") else f"{directory}/{name}"


def _path_streams(raw: str, recursive: bool, report: Report) -> list[Stream]:
    """The streams of one command-line path, or none (reported) when it cannot be read."""
    path = clean(raw)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        report(f"{raw}: no such file or directory" if exc.errno in _MISSING else f"{raw}: {why_unreadable(exc)}")
        return []
    if stat.S_ISDIR(mode):
        found, complete = _dir_streams(path, recursive, report)
        if not found and complete:
            hint = "" if recursive else " (use -r to walk a tree of service log directories)"
            report(f"{raw}: no svlogd log files here{hint}")
        return found
    if stat.S_ISREG(mode):
        return [Stream(raw, [path])]
    report(f"{raw}: not a regular file or directory")
    return []


def _dir_streams(top: str, recursive: bool, report: Report) -> tuple[list[Stream], bool]:
    """The svlogd streams at ``top`` and, with ``recursive``, below it; and whether every
    directory could be looked into (one that cannot is reported and skipped).

    Symbolic links are followed (runit's ``/etc/service/<name>`` links to ``/etc/sv/<name>``);
    a directory reached twice (a link cycle) is walked once. The walk keeps its own stack, so
    the depth of the tree does not matter.
    """
    found: list[Stream] = []
    complete = True
    seen: set[tuple[int, int]] = set()
    stack = [top]
    while stack:
        path = stack.pop()
        try:
            st = os.stat(path)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            files, subdirs = _look_into(path)
        except OSError as exc:
            report(f"{path}: {why_unreadable(exc)}")
            complete = False
            continue
        if files:
            found.append(Stream(path, files, path))
        if recursive:
            stack.extend(reversed(subdirs))  # popped in name order
    return found, complete


def _look_into(path: str) -> tuple[list[str], list[str]]:
    """A directory's svlogd files in reading order (none when it is not an svlogd directory),
    the finished output of a rotation being processed, and its subdirectories in name order."""
    from logmagic.tools.logfiles import svlogd  # for directories only: a search of files starts without it

    files, subdirs = [], []
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir():
                subdirs.append(_join(path, entry.name))
            elif entry.is_file():
                files.append(entry.name)
    return [_join(path, name) for name in svlogd.reading_order(files, keep=svlogd.OUTPUT)], sorted(subdirs)
