"""The field loop of the GELF fast path: copy plain fields into a GELF dict under cached names.

Both the loggers' direct path (``logmagic.methods.make_gelf_line``) and ``GelfEncoder.encode``
start a GELF line with this loop; when it answers False, the record takes the encoder's
careful path, which copes with anything. The loop is most of what an enabled call costs
beyond building a dict by hand, so it is also written in C (``_speedups.c``, built with the
wheel when a C compiler is there). ``copy_plain`` is the C one when it was built and loads,
else the Python one; both give the same lines (tests/test_plain.py compares them).
``LOGMAGIC_PURE_PYTHON=1`` in the environment keeps the Python one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

CopyPlain = Callable[[dict[str, Any], Mapping[Any, Any], Mapping[Any, str]], bool]


def copy_plain_py(d: dict[str, Any], fields: Mapping[Any, Any], names: Mapping[Any, str]) -> bool:
    """Copy each field into ``d`` under ``names[key]``; False at the first that needs care.

    A field needs care when its value is not exactly ``str``, ``int``, ``bool``, ``None`` or a
    finite ``float``, or when its name is not in ``names`` (not seen yet, or secret). ``d``
    may then hold some fields already: the caller starts over. Never raises: a hostile key
    whose ``__eq__`` raises answers False too.
    """
    try:
        for k in fields:  # faster than items() for a few fields
            v = fields[k]
            kind = type(v)
            if kind is str or kind is int or kind is bool or v is None or (kind is float and v - v == 0):
                d[names[k]] = v
            else:
                return False
    except Exception:
        return False
    return True


def _load() -> tuple[CopyPlain, bool]:
    if os.environ.get("LOGMAGIC_PURE_PYTHON") == "1":
        return copy_plain_py, False
    try:
        from logmagic.encode._speedups import copy_plain as fast
    except ImportError:
        return copy_plain_py, False
    return fast, True


#: The loop in use, and whether it is the C one.
copy_plain, ACCELERATED = _load()
