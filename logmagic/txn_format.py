"""What a transaction id says: ``parse_txn_id`` and ``TxnInfo``.

Apart from ``logmagic.txn``, which makes ids (with per-process state renewed after ``fork()``)
and carries them: the host tools (``logmagic txn``, ``gelf-chainsaw --txn``) decode ids and
need nothing else of the runtime.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

__all__ = ["TxnInfo", "parse_txn_id"]

#: Matched with ``fullmatch`` (``$`` would accept a trailing newline); ASCII digits only, as
#: ``int()`` would also read Arabic-Indic or fullwidth ones.
_PARSE = re.compile(
    r"\.rh-(?P<rh>[A-Za-z0-9]+)\.h-(?P<host>[A-Za-z0-9_.-]+?)\.r-(?P<r>[A-Za-z0-9]+)"
    r"\.c-(?P<c>[0-9]+)\.ts-(?P<ts>[0-9]+)\.v-(?P<v>[A-Za-z0-9._+-]*)"
)
#: Longest counter and ``ts`` taken, in digits: a process cannot count past 2**63, and 20
#: digits of milliseconds are far beyond any date ``datetime`` can hold.
_MAX_NUMBER_DIGITS = 19
#: A ``ts`` below this is in seconds (the article's second example), above it in milliseconds.
_MS_THRESHOLD = 10**11


@dataclass(frozen=True)
class TxnInfo:
    """What a transaction id says about where and when a request started."""

    process_tag: str
    host: str
    request_tag: str
    counter: int
    time: datetime.datetime
    version: str


def parse_txn_id(txn_id: str) -> TxnInfo:
    """Decode a logmagic transaction id; anything else raises ``ValueError``."""
    m = _PARSE.fullmatch(txn_id.strip()) if isinstance(txn_id, str) else None
    if m is None:
        raise ValueError(f"not a logmagic transaction id: {str(txn_id)[:200]!r}")
    if len(m["c"]) > _MAX_NUMBER_DIGITS or int(m["c"]) >= 2**63:
        raise ValueError(f"transaction id {txn_id[:200]!r} has an impossible counter: c-{m['c'][:40]}")
    if len(m["ts"]) > _MAX_NUMBER_DIGITS:
        raise ValueError(f"transaction id {txn_id[:200]!r} has an impossible time: ts-{m['ts'][:40]}")
    ts = int(m["ts"])
    seconds = ts if ts < _MS_THRESHOLD else ts / 1000
    try:
        when = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"transaction id {txn_id[:200]!r} has an impossible time: ts-{m['ts']}") from None
    return TxnInfo(m["rh"], m["host"], m["r"], int(m["c"]), when, m["v"])
