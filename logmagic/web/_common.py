"""What the WSGI and ASGI middleware share: options, inbound id checks, access records, 500 bodies."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from logmagic._safe import safe_str
from logmagic.levels import ERR, INFO, WARNING
from logmagic.logger import LocalLogger
from logmagic.txn import new_txn_id

#: Inbound ids longer than this, or with other characters, are replaced by a fresh id.
MAX_INBOUND_LENGTH = 200
#: Matched with ``fullmatch``: ``$`` would also accept a trailing newline, which would then go
#: back out in the response header.
_VALID = re.compile(r"[A-Za-z0-9._:/+=-]+")


@dataclass(frozen=True)
class Options:
    """Middleware settings; every keyword of ``WSGIMiddleware``/``ASGIMiddleware``."""

    #: Request headers that may carry an id from upstream, tried in order.
    inbound_headers: tuple[str, ...] = ("X-Txn-Id",)
    #: Response header carrying the id back to the client.
    response_header: str = "X-Response-Id"
    #: Facility of the access record (one per request) and of the middleware's own records.
    facility: str = "logmagic.access"
    #: Write one access record per request.
    access_log: bool = True

    @classmethod
    def make(
        cls,
        inbound_headers: Iterable[str] | str = ("X-Txn-Id",),
        response_header: str = "X-Response-Id",
        facility: str = "logmagic.access",
        access_log: bool = True,
    ) -> Options:
        headers = (inbound_headers,) if isinstance(inbound_headers, str) else tuple(inbound_headers)
        if not headers or not all(isinstance(h, str) and h for h in headers):
            raise ValueError(f"inbound_headers must be header names, got {inbound_headers!r}")
        return cls(headers, response_header, facility, access_log)


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
