"""Reading logmagic's own diagnostic lines out of a captured stderr.

Off a terminal each diagnostic is a GELF record of facility ``logmagic`` whose
``short_message`` starts with ``logmagic: ``; on a terminal it is that text as a plain line.
"""

from __future__ import annotations

import json
from typing import Any


def _record(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def diagnostics(stderr: str | bytes) -> list[str]:
    """The text of each diagnostic line in ``stderr`` (``logmagic: ...``), in order."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    out = []
    for line in text.splitlines():
        record = _record(line)
        if record is not None and record.get("_facility") == "logmagic":
            out.append(str(record.get("short_message")))
        elif record is None and line.startswith("logmagic: "):
            out.append(line)
    return out


def records(stderr: str | bytes) -> list[dict[str, Any]]:
    """The JSON records in ``stderr`` that are not logmagic's own diagnostics."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    found = (_record(line) for line in text.splitlines())
    return [r for r in found if r is not None and r.get("_facility") != "logmagic"]
