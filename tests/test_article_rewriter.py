"""The article's rewriter, as it is written there, works on logmagic: user rewriters run first.

The original Log Magic example takes ``extra["request"]``, sets ``accountId`` from
``request.account.get_key()`` and ``txnId`` from ``request.txnId``, and deletes ``request``.
logmagic's own request rewriter also knows objects with a ``txnId`` attribute; it runs after
the user's, so it never takes the request away from the rewriter written for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import logmagic

from .conftest import ListSink


def rewriter(modulename: str, level: int, msg: str, extra: dict[str, Any]) -> dict[str, Any]:
    if extra.get("request"):
        if extra["request"].account:
            extra["accountId"] = extra["request"].account.get_key()
        else:
            # unauthenticated user
            extra["accountId"] = None
        extra["txnId"] = extra["request"].txnId
        del extra["request"]
    return extra


class Account:
    def __init__(self, key: str) -> None:
        self.key = key

    def get_key(self) -> str:
        return self.key


class Request:
    def __init__(self, account: Account | None, txn_id: str) -> None:
        self.account = account
        self.txnId = txn_id


TXN = ".rh-3dT5.h-product-api0.r-pVDF7IRM.c-0.ts-1324936588828.v-062c3d0"


def test_the_articles_rewriter_gives_account_and_txn_id(sink: ListSink) -> None:
    logmagic.add_rewriter(rewriter)
    log = logmagic.local("myapp.api.handler")
    log.dbg("Something is wrong", {"request": Request(Account("ac42"), TXN)})
    log.dbg("anonymous", {"request": Request(None, TXN)})
    assert [r.fields for r in sink.records] == [{"accountId": "ac42", "txnId": TXN}, {"accountId": None, "txnId": TXN}]


def test_the_articles_rewriter_on_the_gelf_line(tmp_path: Path) -> None:
    target = tmp_path / "app.log"
    logmagic.register_sink("f", f"file://{target}")
    logmagic.route("__root__", logmagic.DEBUG, "f")
    logmagic.add_rewriter(rewriter)
    logmagic.local("myapp.api.handler").dbg("Something is wrong", {"request": Request(Account("ac42"), TXN)})
    line = json.loads(target.read_text())
    assert (line["_accountId"], line["_txnId"]) == ("ac42", TXN) and "_request" not in line


def test_the_built_in_request_rewriter_still_handles_what_the_users_leave(sink: ListSink) -> None:
    logmagic.add_rewriter(lambda facility, level, msg, fields: fields)  # a rewriter that ignores requests
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "wsgi.url_scheme": "http"}
    logmagic.local("app").info("hit", request=environ)
    logmagic.local("app").info("odd", request=object())
    first, second = (r.fields for r in sink.records)
    assert (first["method"], first["path"]) == ("GET", "/x") and "request" not in first
    assert second == {"request": "<object>"}
