"""svlogd's timestamp prefixes on lines: ``-t`` (TAI64N, ``@4000…``), ``-tt``
(``2026-11-22_06:28:03.46035``) and ``-ttt`` (ISO 8601), each followed by one space.

``gelf-chainsaw`` takes the prefix off and keeps its time (the record's time when the JSON has
none); the shipper only takes it off (``without_prefix``).
"""

from __future__ import annotations

import datetime
import re

__all__ = ["TAI_OFFSET", "body_start", "prefix_length", "strip_prefix", "without_prefix"]

_TAI64N = re.compile(rb"^@(4[0-9a-f]{15})([0-9a-f]{8}) ")
#: ``-tt`` (``_``) and ``-ttt`` (``T``); an ISO 8601 zone is accepted too (other writers add one).
_HUMAN = re.compile(rb"^(\d{4})-(\d\d)-(\d\d)[_T](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|([+-])(\d\d):?(\d\d))? ")
#: TAI64 labels are 2**62 + seconds; TAI runs 10 s ahead of UTC at the 1972 epoch of svlogd's clock.
TAI_OFFSET = 2**62 + 10
#: ``-tt`` / ``-ttt`` prefix (date and time to the second) -> unix seconds, or None when invalid.
#: svlogd's lines come in time order, so a small cache turns one date parse per line into one
#: per second of log.
_SECONDS: dict[bytes, float | None] = {}
_SECONDS_MAX = 4096


def strip_prefix(line: bytes) -> tuple[bytes, float | None]:
    """``line`` without an svlogd timestamp prefix, and the prefix's time (unix seconds) if any."""
    first = line[:1]
    if first == b"@":
        m = _TAI64N.match(line)
        if m:
            return line[m.end() :], int(m[1], 16) - TAI_OFFSET + int(m[2], 16) / 1e9
        return line, None
    if not b"0" <= first <= b"9":
        return line, None
    m = _HUMAN.match(line)
    if m is None:
        return line, None
    when = _second(line[:19], m)
    if when is None:
        return line, None
    fraction, sign = m.group(7, 9)
    if sign:  # a zone other than Z: the time is local to it
        when -= (1 if sign == b"+" else -1) * (int(m[10]) * 3600 + int(m[11]) * 60)
    return line[m.end() :], when + float(fraction) if fraction else when


def body_start(line: bytes) -> int:
    """Where ``strip_prefix``'s line without its prefix starts in ``line`` (0: it has none),
    without working out the prefix's time."""
    first = line[:1]
    if first == b"@":
        m = _TAI64N.match(line)
    elif b"0" <= first <= b"9":
        m = _HUMAN.match(line)
        if m is not None and _second(line[:19], m) is None:
            return 0
    else:
        return 0
    return m.end() if m else 0


def _second(key: bytes, m: re.Match[bytes]) -> float | None:
    """Unix seconds of a ``-tt`` / ``-ttt`` prefix's date and time to the second (``key``, its
    first 19 bytes), None when there is no such time; parsed once per second of log."""
    try:
        return _SECONDS[key]
    except KeyError:
        pass
    if len(_SECONDS) >= _SECONDS_MAX:
        _SECONDS.clear()
    when = _SECONDS[key] = _utc_seconds(m)
    return when


def prefix_length(line: bytes) -> int:
    """How many bytes of ``line`` are an svlogd timestamp prefix (0: none); no time is parsed."""
    first = line[:1]
    if first == b"@":
        m = _TAI64N.match(line)
    elif first.isdigit():
        m = _HUMAN.match(line)
    else:
        return 0
    return m.end() if m else 0


def without_prefix(line: bytes) -> bytes:
    """``line`` without the timestamp svlogd ``-t``/``-tt``/``-ttt`` put in front of it.

    JSON lines start with ``{``: for them this is one comparison.
    """
    if line[:1] == b"{":
        return line
    n = prefix_length(line)
    return line[n:] if n else line


def _utc_seconds(m: re.Match[bytes]) -> float | None:
    """Unix seconds of a ``-tt``/``-ttt`` prefix's date and time (UTC), None if no such time."""
    year, month, day, hour, minute, second = (int(m[i]) for i in range(1, 7))
    try:
        when = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    return when.timestamp()
