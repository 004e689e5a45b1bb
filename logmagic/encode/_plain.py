"""The start of a GELF line for a plain record: the dict ``orjson.dumps`` turns into the line.

Both the loggers' direct path (``logmagic.call_paths.make_gelf_line``) and ``GelfEncoder.encode``
start here; when ``plain_gelf_dict`` answers None, the record takes the encoder's careful
path, which copes with anything. This is most of what an enabled call costs beyond building
the dict by hand, so it is also written in C (``_speedups.c``, compiled when logmagic is
installed and a C compiler is there; see ``hatch_build.py``). ``plain_gelf_dict`` is the C one
when it was built and loads, else the Python one; both make the same dicts
(tests/encode/test_plain.py compares them). ``LOGMAGIC_PURE_PYTHON=1`` in the environment
keeps the Python one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from logmagic._safe import MAX_FIELDS

PlainGelfDict = Callable[
    [str, str, float, int, str, Mapping[Any, Any], Mapping[Any, str], Any, str], "dict[str, Any] | None"
]


def plain_gelf_dict_py(
    host: str,
    msg: str,
    ts: float,
    level: int,
    facility: str,
    fields: Mapping[Any, Any],
    names: Mapping[Any, str],
    txn: Any,
    empty: str,
) -> dict[str, Any] | None:
    """The GELF dict of a record of plain fields under cached names, or None when it needs care.

    A field needs care when its value is not exactly ``str``, ``int``, ``bool``, ``None`` or a
    finite ``float``, when it is text with ``=`` or ``@`` in it (a URL or query string the
    redactor must look at, as ``logmagic.redact.needs_scrub`` says), or when its name is not in
    ``names`` (not seen yet, or secret); so does a record of more than ``MAX_FIELDS`` fields
    (the careful path caps them). A blank message is sent as ``empty`` (Graylog refuses a
    blank ``short_message``). ``txn`` is added as the txnId unless the fields hold one; it too
    needs care when it holds ``=`` or ``@``. ``txn`` may be a ``logmagic.txn.Scope`` (the id
    and the context fields): its fields follow the txnId, each unless the record has the name.
    Never raises: a message that is not text, or a hostile key whose ``__eq__`` raises, answers
    None too.
    """
    try:
        if len(fields) > MAX_FIELDS:
            return None
        d = {
            "version": "1.1",
            "host": host,
            "short_message": msg if not msg.isspace() and msg else empty,
            "timestamp": int(ts * 1000) / 1000,
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
        extra = None
        if isinstance(txn, tuple):  # a logmagic.txn.Scope: the id and the context fields
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
                    d[names[k]] = v
                elif kind is int or kind is bool or v is None or (kind is float and v - v == 0):
                    d[names[k]] = v
                else:
                    return None
    except Exception:
        return None
    return d


def _load() -> tuple[PlainGelfDict, bool]:
    if os.environ.get("LOGMAGIC_PURE_PYTHON") == "1":
        return plain_gelf_dict_py, False
    try:
        from logmagic.encode._speedups import plain_gelf_dict as fast
    except ImportError:
        return plain_gelf_dict_py, False
    return fast, True


#: The implementation in use, and whether it is the C one.
plain_gelf_dict, ACCELERATED = _load()
