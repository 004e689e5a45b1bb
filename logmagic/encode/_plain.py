"""The log call's hot steps for a plain record, each in Python here and in C where it was built.

``plain_gelf_line`` makes a plain record's GELF line (its GELF dict through ``orjson.dumps``):
both the loggers' direct path (``logmagic.call_paths.make_gelf_line``) and
``GelfEncoder.encode`` start there, and when it answers None the record takes the
encoder's careful path, which copes with anything. ``write_counted`` writes the direct path's
line and counts it; ``keep_plain`` (with ``plain_size_py``) and ``trim_kept`` are the flight
recorder's (``logmagic.flight_recorder``). These steps are most of what an enabled call costs
beyond building the line by hand, so they are also written in C (``_speedups.c``, compiled
when logmagic is installed and a C compiler is there; see ``hatch_build.py``). The names
below are the C functions when they were built and load, else their Python twins (``*_py``);
tests/encode/test_plain.py compares each pair. ``LOGMAGIC_PURE_PYTHON=1`` in the environment
keeps the Python ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from logmagic._safe import MAX_FIELDS, MAX_STRING

_os_write = os.write


def _is_plain(v: object) -> bool:
    """A value the direct path writes as it is: exactly ``str`` without ``=`` or ``@`` (text
    the redactor must read), ``int``, ``bool``, ``None``, or a finite ``float``. The field
    loops of ``plain_gelf_line_py`` write this test out, for speed."""
    kind = type(v)
    if kind is str:
        return "=" not in v and "@" not in v  # type: ignore[operator]
    return kind is int or kind is bool or v is None or (kind is float and v - v == 0)  # type: ignore[operator]


def plain_gelf_line_py(
    host: str,
    msg: str,
    ts: float,
    level: int,
    facility: str,
    fields: Mapping[Any, Any],
    names: Mapping[Any, str],
    txn: Any,
    empty: str,
    dumps: Callable[..., bytes],
    option: int,
) -> bytes | None:
    """The GELF line of a record of plain fields under cached names, ``dumps(the GELF dict,
    option=option)``, or None when the record needs the encoder's care.

    A field needs care when its value is not exactly ``str``, ``int``, ``bool``, ``None`` or a
    finite ``float``, when it is text with ``=`` or ``@`` in it (a URL or query string the
    redactor must look at, as ``logmagic.redact.needs_scrub`` says), or when its name is not in
    ``names`` (not seen yet, or secret); so does a record of more than ``MAX_FIELDS`` fields
    (the careful path caps them). A blank message is sent as ``empty`` (Graylog refuses a
    blank ``short_message``). ``txn`` is added as the txnId unless the fields hold one; it too
    needs care when it holds ``=`` or ``@``. ``txn`` may be a ``logmagic.txn.Scope`` (the id
    and the context fields): its fields follow the txnId, each unless the record has the name.
    The answer is None too when ``dumps`` raised (an int beyond 64 bits, a lone surrogate) or
    the line is longer than ``MAX_STRING`` bytes (a string in it might be over the encoder's
    cap). Never raises: a message that is not text, or a hostile key whose ``__eq__`` raises,
    answers None.

    The pure-Python direct path has this body written into it (``logmagic._inline``), so it
    keeps the shape that module reads: one ``try`` whose handler answers None.
    """
    try:
        if len(fields) > MAX_FIELDS:
            return None
        d = {
            "version": "1.1",
            "host": host,
            "short_message": msg if not msg.isspace() and msg else empty,
            "timestamp": (ts * 1000).__trunc__() / 1000,
            "level": level,
            "_facility": facility,
        }
        for k in fields:  # faster than items() for a few fields
            v = fields[k]
            kind = type(v)
            if kind is str:
                if "=" in v or "@" in v:
                    return None
                d[names[k]] = v
            elif kind is int or kind is bool or v is None or (kind is float and v - v == 0):
                d[names[k]] = v
            else:
                return None
        if txn is not None:
            extra = None
            if txn.__class__ is not str and isinstance(txn, tuple):  # a Scope: the id and the context fields
                txn, extra = txn[0], txn[1]
                if type(extra) is not dict or len(fields) + len(extra) > MAX_FIELDS:
                    return None
            added = False
            if txn is not None and "txnId" not in fields:
                if type(txn) is not str or "=" in txn or "@" in txn:
                    return None
                d[names["txnId"]] = txn
                added = True
            if extra:
                for k in extra:
                    if type(k) is not str:
                        return None
                    if k in fields or (added and k == "txnId"):
                        continue
                    v = extra[k]
                    kind = type(v)
                    if kind is str:
                        if "=" in v or "@" in v:
                            return None
                    elif not (kind is int or kind is bool or v is None or (kind is float and v - v == 0)):
                        return None
                    d[names[k]] = v
        line = dumps(d, option=option)
        return line if len(line) <= MAX_STRING else None
    except Exception:
        return None


def write_counted_py(fd: int, data: bytes, counter: Iterator[int]) -> int:
    """``os.write(fd, data)``, then ``next(counter)`` when all of ``data`` was written: the
    loggers' direct path writes a line and counts it (``FdSink.written_counter``) in one call."""
    done = _os_write(fd, data)
    if done == len(data):
        next(counter)
    return done


#: What a plain field counts for in ``plain_size`` besides the length of its name and text.
FIELD_SIZE = 64


def plain_size_py(fields: Mapping[Any, Any], names: Mapping[Any, str]) -> int:
    """The estimated size in bytes of ``fields`` when every one is a plain value (as
    ``plain_gelf_line_py`` means it) under a name in ``names``, so the redaction stage would
    leave them as they are; else -1. The flight recorder keeps such fields as they are."""
    try:
        if type(fields) is not dict or len(fields) > MAX_FIELDS:
            return -1
        size = 0
        for k in fields:
            v = fields[k]
            if type(k) is not str or k not in names or not _is_plain(v):
                return -1
            size += FIELD_SIZE + len(k) + (len(v) if type(v) is str else 0)
    except Exception:
        return -1
    return size


def keep_plain_py(
    entries: Any,
    fields: Mapping[Any, Any],
    names: Mapping[Any, str],
    spec: Any,
    msg: str,
    scope: Any,
    base: int,
    now: Callable[[], float],
) -> int:
    """The flight recorder's fast keep: when ``fields`` are plain (``plain_size_py``) and
    ``msg`` is exactly ``str``, append the entry ``(spec, msg, fields, now(), None, scope,
    size)`` to ``entries`` and return ``size`` (``base``, the message's length and the fields'
    size); else -1, appending nothing (``logmagic.flight_recorder.Entry``)."""
    size = plain_size_py(fields, names)
    if size < 0 or type(msg) is not str:
        return -1
    size += base + len(msg)
    entries.append((spec, msg, fields, now(), None, scope, size))
    return size


def trim_kept_py(
    entries: Any, accounted: int, size: int, held: int, max_records: int, max_bytes: int, max_total: int
) -> tuple[int, int, int, int, int, int]:
    """The flight recorder's caps (``Recorder._account``): count the entries of ``entries`` (a
    deque) after the first ``accounted`` (their sizes, each entry's last item, added to
    ``size`` and ``held``),
    then drop the oldest while there are more than ``max_records``, or ``size`` is over
    ``max_bytes``, or ``held`` over ``max_total``. A drop only the process cap asks for is
    ``not_kept``; any other is ``dropped``. Returns (accounted, size, held, new, dropped,
    not_kept)."""
    n = len(entries)
    new = max(n - accounted, 0)
    for i in range(n - new, n):
        size += entries[i][-1]
        held += entries[i][-1]
    accounted += new
    dropped = not_kept = 0
    while accounted and (accounted > max_records or size > max_bytes or held > max_total):
        gone = entries.popleft()[-1]
        if held > max_total and accounted <= max_records and size <= max_bytes:
            not_kept += 1
        else:
            dropped += 1
        accounted -= 1
        size -= gone
        held -= gone
    return accounted, size, held, new, dropped, not_kept


KeepPlain = Callable[[Any, Mapping[Any, Any], Mapping[Any, str], Any, str, Any, int, Callable[[], float]], int]


TrimKept = Callable[[Any, int, int, int, int, int, int], "tuple[int, int, int, int, int, int]"]
PlainGelfLine = Callable[..., "bytes | None"]
WriteCounted = Callable[[int, bytes, Iterator[int]], int]


def _load() -> tuple[PlainGelfLine, KeepPlain, TrimKept, WriteCounted, bool]:
    python = (plain_gelf_line_py, keep_plain_py, trim_kept_py, write_counted_py)
    if os.environ.get("LOGMAGIC_PURE_PYTHON") == "1":
        return (*python, False)
    try:
        from logmagic.encode._speedups import (
            keep_plain,
            plain_gelf_line,
            trim_kept,
            write_counted,
        )
    except ImportError:
        return (*python, False)
    return plain_gelf_line, keep_plain, trim_kept, write_counted, True


#: The implementations in use, and whether they are the C ones.
plain_gelf_line, keep_plain, trim_kept, write_counted, ACCELERATED = _load()
