"""W3C Trace Context: the ``traceparent`` and ``tracestate`` headers, parsed, continued, written.

A ``traceparent`` names the distributed trace a request belongs to and the caller's span in it:
``00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`` (version, trace-id, parent-id,
trace-flags). The rules followed here are those of the W3C Trace Context Recommendation
(https://www.w3.org/TR/trace-context/):

* version, trace-id, parent-id and flags are lower-case hex of 2, 32, 16 and 2 characters;
  upper-case hex, an all-zero trace-id or parent-id, and version ``ff`` make the header invalid,
  and an invalid header is ignored as a whole (``parse_traceparent`` returns ``None``);
* version ``00`` is exactly those four fields: anything after the flags makes it invalid;
* a higher version is read as far as version ``00`` goes, provided the value has at least 55
  characters and the flags are followed by the end or by ``-`` (further fields are future
  additions, not read); only its ``sampled`` bit is taken, and it is sent on as version ``00``;
* spaces and tabs around the value are optional whitespace;
* ``tracestate`` is read only along with a valid ``traceparent``; an invalid one (a bad key or
  value, a key twice, more than 32 members) is dropped as a whole.

``current()`` is the trace context of the running request or job, in a context variable that
threads and tasks carry like the txnId (``logmagic.txn.wrap``). The web middleware sets it from
the inbound headers, and ``child()`` of it is what outbound requests send: the same trace-id,
the request's own span id as their parent-id, the flags kept.

This module is part of the runtime's lowest layer: it imports only the standard library, so the
web middleware, the outbound hooks and task-queue integrations all share it.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar, Token
from typing import NamedTuple

__all__ = [
    "TRACEPARENT",
    "TRACESTATE",
    "TraceParent",
    "child",
    "current",
    "new_span_id",
    "parse_traceparent",
    "parse_tracestate",
    "reset_current",
    "set_current",
]

#: The header names, lower case as the specification says to send them.
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"

#: Version 00, the whole value. ``fullmatch`` (``$`` would let a trailing newline through).
_V00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
#: A higher version: the version-00 fields, then the end or ``-`` and fields not read here.
_FUTURE = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?", re.DOTALL)
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
#: The flags version 00 defines: sampled (Level 1) and random (Level 2). Others are sent as 0.
_KNOWN_FLAGS = 0x03
_SAMPLED = 0x01
#: Optional whitespace around a header value (RFC 9110 OWS).
_OWS = " \t"

#: tracestate list members: ``key=value``; key a simple or multi-tenant (``tenant@system``) key.
_TS_KEY = re.compile(r"[a-z0-9][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}")
_TS_VALUE = re.compile(r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]")
_TS_MAX_MEMBERS = 32


class TraceParent(NamedTuple):
    """A trace context: ``trace_id`` (32 hex), ``span_id`` (16 hex), ``flags`` (0..255) and
    ``tracestate`` (the vendors' list, normalised, or ``""``).

    Parsed from a header, ``span_id`` is the caller's span (the header's parent-id).
    """

    trace_id: str
    span_id: str
    flags: int = 0
    tracestate: str = ""

    @property
    def sampled(self) -> bool:
        """The ``sampled`` flag: the caller may have recorded trace data."""
        return bool(self.flags & _SAMPLED)

    def header(self) -> str:
        """The ``traceparent`` value naming this span as the parent, always version 00."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"

    def headers(self) -> dict[str, str]:
        """``traceparent`` and, when there is one, ``tracestate``: what an outbound request sends."""
        out = {TRACEPARENT: self.header()}
        if self.tracestate:
            out[TRACESTATE] = self.tracestate
        return out


def parse_traceparent(value: str | None, tracestate: str | None = None) -> TraceParent | None:
    """The trace context in a ``traceparent`` value, or ``None`` when it is missing or invalid.

    ``tracestate`` (the header's value, several headers joined by ``,``) is read only when the
    ``traceparent`` is valid, and dropped if it is itself invalid.
    """
    if not value:
        return None
    value = value.strip(_OWS)
    m = _V00.fullmatch(value)
    if m is not None:
        trace_id, span_id, flags_hex = m.groups()
        flags = int(flags_hex, 16) & _KNOWN_FLAGS
    else:
        m = _FUTURE.fullmatch(value)
        if m is None or m.group(1) == "00" or m.group(1) == "ff" or len(value) < 55:
            return None
        _, trace_id, span_id, flags_hex = m.groups()
        flags = int(flags_hex, 16) & _SAMPLED  # a later version's other bits are unknown here
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return TraceParent(trace_id, span_id, flags, parse_tracestate(tracestate))


def parse_tracestate(value: str | None) -> str:
    """A ``tracestate`` value normalised (members joined by ``,``, optional whitespace and empty
    members removed), or ``""`` when it is missing or invalid as a whole."""
    if not value:
        return ""
    members = []
    keys = set()
    for raw in value.split(","):
        member = raw.strip(_OWS)
        if not member:
            continue  # empty members are allowed (several headers joined, one empty)
        key, eq, val = member.partition("=")
        if not eq or _TS_KEY.fullmatch(key) is None or _TS_VALUE.fullmatch(val) is None or key in keys:
            return ""
        keys.add(key)
        members.append(member)
    if len(members) > _TS_MAX_MEMBERS:
        return ""
    return ",".join(members)


def new_span_id() -> str:
    """16 lower-case hex characters from the OS CSPRNG, never all zero."""
    while True:
        span = os.urandom(8).hex()
        if span != _ZERO_SPAN:
            return span


def child(parent: TraceParent) -> TraceParent:
    """A new span in ``parent``'s trace: same trace-id, flags and tracestate, a new span id."""
    return TraceParent(parent.trace_id, new_span_id(), parent.flags, parent.tracestate)


_current: ContextVar[TraceParent | None] = ContextVar("logmagic_trace_context", default=None)


def current() -> TraceParent | None:
    """The trace context of the running request or job (its own span), or ``None``."""
    return _current.get()


def set_current(trace: TraceParent | None) -> Token[TraceParent | None]:
    """Make ``trace`` current; ``reset_current(token)`` undoes it."""
    return _current.set(trace)


def reset_current(token: Token[TraceParent | None]) -> None:
    """Undo the ``set_current`` that gave ``token``."""
    _current.reset(token)
