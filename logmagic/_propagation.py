"""Which headers carry the transaction id, and whether an inbound one is trusted.

``logmagic.configure(txn_header=..., response_header=..., trust_inbound=...)`` sets them (the
configuration checks the values and installs them with the rest, all or nothing); the web
middleware and the outbound hooks read ``ACTIVE`` once per request. A middleware's own keywords
win over these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ACTIVE", "DEFAULT", "Propagation", "check_header_name", "set_active"]

#: An HTTP field name (RFC 9110 ``token``).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: Headers of W3C Trace Context: logmagic reads and writes them itself.
_RESERVED = frozenset({"traceparent", "tracestate"})


@dataclass(frozen=True)
class Propagation:
    """Header names and trust for transaction ids, as configured."""

    #: The header an inbound id is read from and outbound requests send it in.
    txn_header: str = "X-Txn-Id"
    #: The response header that gives the id back to the client.
    response_header: str = "X-Response-Id"
    #: Use a valid inbound id as the request's id. ``False`` (an edge service facing clients):
    #: always make a new id, and keep the client's as the field ``clientTxnId``.
    trust_inbound: bool = True


DEFAULT = Propagation()
#: What is in force; written by the configuration only (``set_active``).
ACTIVE = DEFAULT


def set_active(value: Propagation) -> None:
    """Install ``value`` (the configuration calls this, with the rest of its state)."""
    global ACTIVE
    ACTIVE = value


def check_header_name(option: str, name: object) -> str:
    """``name`` if it is an HTTP header name logmagic may use for ids, else ``ValueError``."""
    if not isinstance(name, str) or _TOKEN.fullmatch(name) is None:
        raise ValueError(f"{option} must be an HTTP header name (letters, digits, - and the like), got {name!r}")
    if name.lower() in _RESERVED:
        raise ValueError(f"{option} cannot be {name!r}: logmagic reads and sends W3C trace context itself")
    return name
