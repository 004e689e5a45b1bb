"""A short tour of logmagic: a request rewriter, two output formats, a route changed at runtime.

Run with ``make demo``. Everything goes to stderr, the way a service under runit logs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import logmagic


@dataclass
class Account:
    key: str


@dataclass
class Request:
    """What a web framework would hand a handler: rich, and full of things not to log."""

    txnId: str
    path: str
    account: Account | None = None
    headers: dict[str, str] = field(default_factory=dict)


def request_rewriter(facility: str, level: int, msg: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The original Log Magic rewriter: a request becomes accountId and txnId, nothing more."""
    request = fields.pop("request", None)
    if isinstance(request, Request):
        fields["accountId"] = request.account.key if request.account else None  # None: unauthenticated
        fields["txnId"] = request.txnId
        fields["path"] = request.path
    return fields


def section(title: str) -> None:
    print(f"\n== {title}", file=sys.stderr, flush=True)


def main() -> None:
    logmagic.configure(host="product-api0", version="062c3d0", env=False)
    logmagic.add_rewriter(request_rewriter)
    log = logmagic.local("myapp.api.handler")
    db = logmagic.local("myapp.db.pool")

    req = Request(
        txnId=".rh-3dT5.h-product-api0.r-pVDF7IRM.c-0.ts-1324936588828.v-062c3d0",
        path="/v1/charges",
        account=Account("ac42"),
        headers={"Authorization": "Bearer not-in-the-logs"},
    )
    anonymous = Request(txnId=".rh-3dT5.h-product-api0.r-Zq81xBnA.c-1.ts-1324936589001.v-062c3d0", path="/v1/ping")

    def handle() -> None:
        log.dbg("Something is wrong", {"request": req})
        log.info("user signed in", {"request": req}, method="password")
        log.warnf("slow query for ${accountId}: ${ms} ms", {"request": req}, ms=812.5)
        log.info("health check", {"request": anonymous})
        db.debug("pool stats", idle=3, busy=7)
        try:
            {"card": "visa"}["amount"]
        except KeyError:
            log.exception("charge failed", {"request": req})

    section("console: INFO and above, for a human at a terminal")
    logmagic.route("__root__", logmagic.INFO, "console")
    handle()

    section("graylog2-stderr: the same calls as GELF lines, as svlogd would store them")
    logmagic.route("__root__", logmagic.INFO, "graylog2-stderr")
    handle()

    section("route change at runtime: myapp.db.* at DEBUG to the console, the rest unchanged")
    logmagic.route("myapp.db.*", logmagic.DEBUG, "console")
    handle()

    logmagic.shutdown(timeout=2.0)


if __name__ == "__main__":
    main()
