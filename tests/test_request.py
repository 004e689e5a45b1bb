"""The request rewriter: request objects of every kind become a few plain fields."""

from __future__ import annotations

from typing import Any

import pytest

import logmagic

from .conftest import ListSink

ENVIRON = {
    "REQUEST_METHOD": "POST",
    "SCRIPT_NAME": "/api",
    "PATH_INFO": "/charges",
    "REMOTE_ADDR": "50.57.61.4",
    "HTTP_USER_AGENT": "BadAgent/1.0",
    "HTTP_AUTHORIZATION": "Bearer secret",
    "wsgi.input": object(),
}
SCOPE = {
    "type": "http",
    "method": "GET",
    "path": "/no-such-file",
    "root_path": "",
    "client": ("50.57.61.4", 40100),
    "headers": [(b"user-agent", b"BadAgent/1.0"), (b"cookie", b"s=1")],
    "state": {"txn_id": "from-scope"},
}
EXPECTED_KEYS = {"txnId", "accountId", "method", "path", "remote_addr", "user_agent"}


def logged(sink: ListSink, request: Any, **kw: Any) -> dict[str, Any]:
    logmagic.local("x").info("m", {"request": request}, **kw)
    return sink.records[-1].fields


def test_wsgi_environ(sink: ListSink) -> None:
    f = logged(sink, {**ENVIRON, "logmagic.txn_id": "from-environ"})
    assert f == {
        "txnId": "from-environ",
        "accountId": None,
        "method": "POST",
        "path": "/api/charges",
        "remote_addr": "50.57.61.4",
        "user_agent": "BadAgent/1.0",
    }


def test_asgi_scope(sink: ListSink) -> None:
    f = logged(sink, SCOPE)
    assert (f["txnId"], f["method"], f["path"], f["remote_addr"], f["user_agent"]) == (
        "from-scope",
        "GET",
        "/no-such-file",
        "50.57.61.4",
        "BadAgent/1.0",
    )


def test_websocket_scope_has_a_method_name(sink: ListSink) -> None:
    f = logged(sink, {"type": "websocket", "path": "/ws", "headers": []})
    assert f["method"] == "WEBSOCKET" and f["path"] == "/ws"


class StarletteLike:
    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope


class WerkzeugLike:
    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ


class DjangoLike:
    def __init__(self, meta: dict[str, Any]) -> None:
        self.META = meta


class Original:
    """The original Log Magic style: a request carrying its txnId and account."""

    def __init__(self) -> None:
        self.txnId = "orig-txn"
        self.accountId = "ac42"
        self.method = "GET"
        self.path = "/v1"


@pytest.mark.parametrize(
    ("request_obj", "txn", "path"),
    [
        (StarletteLike(SCOPE), "from-scope", "/no-such-file"),
        (WerkzeugLike({**ENVIRON, "logmagic.txn_id": "w"}), "w", "/api/charges"),
        (DjangoLike({**ENVIRON, "logmagic.txn_id": "d"}), "d", "/api/charges"),
        (Original(), "orig-txn", "/v1"),
    ],
)
def test_framework_objects(sink: ListSink, request_obj: Any, txn: str, path: str) -> None:
    f = logged(sink, request_obj)
    # Values a kind of request does not have are left out; accountId is always there (null: anonymous).
    expected = EXPECTED_KEYS - ({"remote_addr", "user_agent"} if isinstance(request_obj, Original) else set())
    assert set(f) == expected
    assert f["txnId"] == txn and f["path"] == path


def test_the_original_style_keeps_its_account(sink: ListSink) -> None:
    assert logged(sink, Original())["accountId"] == "ac42"


def test_the_request_object_and_its_secrets_are_never_dumped(sink: ListSink) -> None:
    f = logged(sink, WerkzeugLike(ENVIRON))
    assert "request" not in f
    assert "Bearer secret" not in repr(f) and "s=1" not in repr(logged(sink, SCOPE))


def test_account_hook_and_its_failures(sink: ListSink, capfd: pytest.CaptureFixture[str]) -> None:
    logmagic.configure(account_id=lambda req: req.environ.get("HTTP_X_ACCOUNT"), env=False)
    assert logged(sink, WerkzeugLike({**ENVIRON, "HTTP_X_ACCOUNT": "ac7"}))["accountId"] == "ac7"
    assert logged(sink, WerkzeugLike(ENVIRON))["accountId"] is None  # unauthenticated

    def broken(req: Any) -> str:
        raise RuntimeError("db down")

    logmagic.configure(account_id=broken, env=False)
    assert logged(sink, WerkzeugLike(ENVIRON))["accountId"] is None
    assert logged(sink, WerkzeugLike(ENVIRON))["accountId"] is None
    assert capfd.readouterr().err.count("account_id hook raised RuntimeError: db down") == 1


def test_explicit_fields_win_over_the_request(sink: ListSink) -> None:
    f = logged(sink, SCOPE, txnId="explicit", path="/override")
    assert f["txnId"] == "explicit" and f["path"] == "/override" and f["method"] == "GET"


def test_request_without_an_id_gets_the_current_one(sink: ListSink) -> None:
    with logmagic.transaction("ctx-id"):
        f = logged(sink, {k: v for k, v in SCOPE.items() if k != "state"})
    assert f["txnId"] == "ctx-id"


def test_unknown_objects_are_named_not_dumped(sink: ListSink) -> None:
    class Opaque:
        secret = "x"

    assert logged(sink, Opaque())["request"] == "<Opaque>"
    assert logged(sink, "GET /plain")["request"] == "GET /plain"


class _OutsideTheRequest:
    """A framework's request proxy read outside a request: every attribute raises."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("Working outside of request context.")


def test_a_request_that_raises_when_read_keeps_the_other_fields(
    sink: ListSink, capfd: pytest.CaptureFixture[str]
) -> None:
    log = logmagic.local("app")
    log.info("order placed", {"request": _OutsideTheRequest()}, orderId=7)
    log.info("again", {"request": _OutsideTheRequest()})
    first, second = sink.records
    assert first.fields == {
        "request": "<_OutsideTheRequest: RuntimeError: Working outside of request context.>",
        "orderId": 7,
    }
    assert second.fields["request"] == first.fields["request"]
    assert capfd.readouterr().err.count("_OutsideTheRequest could not be read") == 1


def test_user_rewriters_see_request_objects_logmagic_does_not_know(sink: ListSink) -> None:
    class RpcCall:
        def __init__(self, account: str) -> None:
            self.account = account

    def rpc_rewriter(facility: str, level: int, msg: str, fields: dict[str, Any]) -> dict[str, Any]:
        call = fields.get("request")
        if isinstance(call, RpcCall):
            fields["accountId"] = call.account
            del fields["request"]
        return fields

    logmagic.add_rewriter(rpc_rewriter)
    assert logged(sink, RpcCall("ac7")) == {"accountId": "ac7"}
    assert logged(sink, object())["request"] == "<object>", "still hidden when no rewriter handles it"
    known = logged(sink, {**ENVIRON, "logmagic.txn_id": "t-1"})
    assert known["txnId"] == "t-1" and "request" not in known


def test_the_request_rewriter_can_be_removed(sink: ListSink) -> None:
    logmagic.remove_rewriter(logmagic.request_rewriter)
    assert logged(sink, "kept")["request"] == "kept"
    assert "request" in logged(sink, SCOPE)
