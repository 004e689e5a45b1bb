"""What the web middleware share: options, ``begin`` (the request's id and trace context), access
records, 500 bodies.

Every middleware (WSGI, ASGI and the framework adapters) calls ``begin`` once per request with a
way to read its request headers, and makes what it returns current with ``Inbound.activate``:
one definition of which inbound id is accepted, when the client's id is only kept as
``clientTxnId``, and which ``traceparent`` is continued.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from logmagic import _propagation, trace_context, txn
from logmagic._propagation import check_header_name
from logmagic._safe import safe_str
from logmagic.integrations import otel
from logmagic.levels import ERR, INFO, WARNING
from logmagic.logger import LocalLogger
from logmagic.trace_context import TRACEPARENT, TRACESTATE, TraceParent
from logmagic.txn import new_txn_id

__all__ = [
    "MAX_INBOUND_LENGTH",
    "GetHeader",
    "Inbound",
    "Options",
    "access_level",
    "begin",
    "choose_id",
    "error_body",
    "shown",
    "valid_inbound",
]

#: Inbound ids longer than this, or with other characters, are replaced by a fresh id.
MAX_INBOUND_LENGTH = 200
#: Matched with ``fullmatch``: ``$`` would also accept a trailing newline, which would then go
#: back out in the response header.
_VALID = re.compile(r"[A-Za-z0-9._:/+=-]+")


@dataclass(frozen=True)
class Options:
    """Middleware settings; every keyword of ``WSGIMiddleware``/``ASGIMiddleware``.

    ``None`` means "as ``logmagic.configure()`` says", read at each request, so a middleware made
    before ``configure()`` follows it.
    """

    #: Request headers that may carry an id from upstream, tried in order
    #: (``None``: the configured ``txn_header``, ``X-Txn-Id`` by default).
    inbound_headers: tuple[str, ...] | None = None
    #: Response header carrying the id back to the client
    #: (``None``: the configured ``response_header``, ``X-Response-Id`` by default).
    response_header: str | None = None
    #: Facility of the access record (one per request) and of the middleware's own records.
    facility: str = "logmagic.access"
    #: Write one access record per request.
    access_log: bool = True
    #: Use a valid inbound id as the request's id; ``False``: always make one, keep the client's
    #: as ``clientTxnId`` (``None``: the configured ``trust_inbound``, ``True`` by default).
    trust_inbound: bool | None = None

    @classmethod
    def make(
        cls,
        inbound_headers: Iterable[str] | str | None = None,
        response_header: str | None = None,
        facility: str = "logmagic.access",
        access_log: bool = True,
        trust_inbound: bool | None = None,
    ) -> Options:
        """Options checked: a bad header name or ``trust_inbound`` is a ``ValueError`` here."""
        headers: tuple[str, ...] | None = None
        if inbound_headers is not None:
            headers = (inbound_headers,) if isinstance(inbound_headers, str) else tuple(inbound_headers)
            if not headers:
                raise ValueError(f"inbound_headers must be header names, got {inbound_headers!r}")
            for h in headers:
                check_header_name("inbound_headers", h)
        if response_header is not None:
            check_header_name("response_header", response_header)
        if trust_inbound is not None and not isinstance(trust_inbound, bool):
            raise ValueError(f"trust_inbound must be True, False or None, got {trust_inbound!r}")
        return cls(headers, response_header, facility, access_log, trust_inbound)


#: Reads one request header by name (any case); several headers of that name joined by ``,``;
#: ``None`` when the request has none.
GetHeader = Callable[[str], "str | None"]


class Inbound(NamedTuple):
    """What ``begin`` decided for one request."""

    #: The request's transaction id.
    txn_id: str
    #: Fields for every record of the request (``clientTxnId``, ``trace_id``, ``span_id``), put
    #: in force by ``activate`` as ``logmagic.context`` fields.
    fields: dict[str, Any]
    #: The request's own span in the caller's trace (what outbound requests continue), or ``None``.
    trace: TraceParent | None
    #: The response header that gives the id back to the client.
    response_header: str

    def activate(self) -> Callable[[], None]:
        """Make the id, the fields and the trace context current; call the result to undo that.

        Middleware that run the request in a context of their own (a copy, discarded after it)
        need not undo anything.
        """
        id_token = txn.set_scope(self.txn_id, self.fields)
        trace_token = trace_context.set_current(self.trace)

        def undo() -> None:
            trace_context.reset_current(trace_token)
            txn.reset_current(id_token)

        return undo


def begin(options: Options, get_header: GetHeader, log: LocalLogger) -> Inbound:
    """The transaction id and trace context of one request, from its headers: the one place where
    every middleware decides them.

    * The first of the inbound headers present (``options.inbound_headers``, else the configured
      ``txn_header``) is the inbound id. Trusted (the default), a valid one is the request's id;
      an invalid one is replaced by a fresh id and a WARNING says so. Not trusted
      (``trust_inbound=False``), the request always gets a fresh id and a valid client id is kept
      as the field ``clientTxnId`` (an invalid one is dropped, with the same WARNING).
    * A valid ``traceparent`` (with its ``tracestate``) is continued: the request gets a span id
      of its own in that trace, and its records carry ``trace_id`` and ``span_id``. An invalid
      one is ignored (WARNING). A current OpenTelemetry span wins over the header.
    """
    settings = _propagation.ACTIVE
    headers = options.inbound_headers or (settings.txn_header,)
    trust = settings.trust_inbound if options.trust_inbound is None else options.trust_inbound
    inbound, header = None, headers[0]
    for name in headers:
        value = get_header(name)
        if value is not None:
            inbound, header = value, name
            break
    fields: dict[str, Any] = {}
    if trust:
        txn_id = choose_id(inbound, log, header)
    else:
        txn_id = new_txn_id()
        if inbound is not None and inbound.strip():
            if valid_inbound(inbound):
                fields["clientTxnId"] = inbound
            else:
                log.warning(
                    "dropped an invalid client transaction id", header=header, inbound=shown(inbound), txnId=txn_id
                )
    trace = _inbound_trace(get_header, log, txn_id)
    if trace is not None:
        fields["trace_id"] = trace.trace_id
        fields["span_id"] = trace.span_id
    return Inbound(txn_id, fields, trace, options.response_header or settings.response_header)


def _inbound_trace(get_header: GetHeader, log: LocalLogger, txn_id: str) -> TraceParent | None:
    """The request's span: the current OpenTelemetry span when there is one, else a child of the
    inbound ``traceparent`` when that is valid."""
    span = otel.request_trace()
    if span is not None:
        return span
    value = get_header(TRACEPARENT)
    if value is None or not value.strip():
        return None
    parent = trace_context.parse_traceparent(value, get_header(TRACESTATE))
    if parent is None:
        log.warning("ignored an invalid traceparent header", inbound=shown(value), txnId=txn_id)
        return None
    return trace_context.child(parent)


def valid_inbound(value: str) -> bool:
    """Whether an inbound id may be used as is: at most 200 characters, all of ``[A-Za-z0-9._:/+=-]``."""
    return len(value) <= MAX_INBOUND_LENGTH and _VALID.fullmatch(value) is not None


def shown(value: str | bytes) -> str:
    """An offending inbound value, escaped and truncated so it is safe to log."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    cut = text[:64]
    return safe_str(repr(cut)[1:-1] + ("…" if len(text) > 64 else ""))


def choose_id(inbound: str | None, log: LocalLogger, header: str) -> str:
    """The inbound id when valid, else a fresh one (and the replacement is logged).

    An empty or all-blank header counts as no header: proxies send those, and they are not worth
    a warning.
    """
    if inbound is not None and inbound.strip():
        if valid_inbound(inbound):
            return inbound
        txn_id = new_txn_id()
        log.warning("replaced an invalid inbound transaction id", header=header, inbound=shown(inbound), txnId=txn_id)
        return txn_id
    return new_txn_id()


def access_level(status: int | None) -> int:
    """Access records: ERR for 5xx (and for no response at all), WARNING for 4xx, else INFO."""
    if status is None or status >= 500:
        return ERR
    if status >= 400:
        return WARNING
    return INFO


def error_body(txn_id: str, accept: str) -> tuple[bytes, str]:
    """The 500 page: JSON when the client accepts it, text otherwise; both carry the id."""
    if "application/json" in accept or "+json" in accept:
        body = orjson.dumps({"error": "Internal Server Error", "txnId": txn_id})
        return body, "application/json"
    return f"Internal Server Error\nReference: {txn_id}\n".encode(), "text/plain; charset=utf-8"
