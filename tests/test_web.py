"""The middleware in process: the ASGI/WSGI protocol edges that real servers rarely hit on demand."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request

import logmagic
import logmagic.web

from .conftest import ListSink

Message = dict[str, Any]


def run_asgi(app: Any, scope: dict[str, Any], incoming: list[Message] | None = None) -> list[Message]:
    sent: list[Message] = []
    queue = list(incoming or [{"type": "http.request", "body": b""}])

    async def receive() -> Message:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def http_scope(path: str = "/", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "headers": headers or [], "client": ("127.0.0.1", 5)}


def header(message: Message, name: bytes) -> str | None:
    for k, v in message.get("headers", []):
        if k == name:
            return v.decode()
    return None


def access(sink: ListSink) -> list[Any]:
    return [r for r in sink.records if r.facility == "logmagic.access" and "status" in r.fields]


def test_lifespan_passes_through_untouched(sink: ListSink) -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    scope = {"type": "lifespan", "state": {}}
    run_asgi(logmagic.web.ASGIMiddleware(app), scope)
    assert seen == [scope] and seen[0] is scope
    assert sink.records == []


def test_websocket_gets_an_id_on_accept_and_an_access_record(sink: ListSink) -> None:
    log = logmagic.local("ws")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        log.info("in socket", state_id=scope["state"]["txn_id"])
        await send({"type": "websocket.send", "text": "hello"})
        await send({"type": "websocket.close"})

    scope = {"type": "websocket", "path": "/ws", "headers": [(b"x-txn-id", b"ws-1")]}
    sent = run_asgi(logmagic.web.ASGIMiddleware(app), scope, [{"type": "websocket.connect"}])
    assert header(sent[0], b"x-response-id") == "ws-1"
    inside = next(r for r in sink.records if r.msg == "in socket")
    assert inside.fields["txnId"] == "ws-1" and inside.fields["state_id"] == "ws-1"
    (rec,) = access(sink)
    assert (rec.fields["status"], rec.fields["bytes"], rec.fields["method"]) == (101, 5, "WEBSOCKET")


def test_exception_after_the_response_started_is_logged_and_reraised(sink: ListSink) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"par", "more_body": True})
        raise RuntimeError("mid-stream")

    with pytest.raises(RuntimeError, match="mid-stream"):
        run_asgi(logmagic.web.ASGIMiddleware(app), http_scope())
    errors = [r for r in sink.records if "after the response started" in r.msg]
    assert len(errors) == 1 and "mid-stream" in (errors[0].full_message or "")
    (rec,) = access(sink)
    assert rec.level == logmagic.ERR and rec.fields["aborted"] is True and rec.fields["bytes"] == 3


@pytest.mark.parametrize(("accept", "ctype"), [(b"application/json", "application/json"), (b"text/html", "text/plain")])
def test_a_frameworks_own_500_page_is_replaced_by_one_with_the_id(sink: ListSink, accept: bytes, ctype: str) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        # What Starlette's ServerErrorMiddleware does: send a generic 500, then re-raise.
        await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"Internal Server Error"})
        raise ValueError("db")

    sent = run_asgi(logmagic.web.ASGIMiddleware(app), http_scope(headers=[(b"accept", accept)]))
    start, body = sent
    txn_id = header(start, b"x-response-id")
    assert start["status"] == 500 and txn_id and txn_id in body["body"].decode()
    assert (header(start, b"content-type") or "").startswith(ctype)
    err = [r for r in sink.records if r.msg == "unhandled exception in the application"]
    assert err[0].fields["txnId"] == txn_id and "ValueError: db" in (err[0].full_message or "")


def test_a_500_without_an_exception_goes_out_unchanged(sink: ListSink) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b"custom", "more_body": True})
        await send({"type": "http.response.body", "body": b" page"})

    sent = run_asgi(logmagic.web.ASGIMiddleware(app), http_scope())
    assert [m.get("body") for m in sent] == [None, b"custom", b" page"]
    (rec,) = access(sink)
    assert rec.fields["status"] == 500 and rec.fields["bytes"] == 11 and rec.level == logmagic.ERR


def test_inbound_header_names_are_configurable_and_tried_in_order(sink: ListSink) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    mw = logmagic.web.ASGIMiddleware(app, inbound_headers=["X-Request-Id", "X-Txn-Id"], response_header="X-Trace")
    sent = run_asgi(mw, http_scope(headers=[(b"x-txn-id", b"second"), (b"x-request-id", b"first")]))
    assert header(sent[0], b"x-trace") == "first"
    with pytest.raises(ValueError, match="inbound_headers"):
        logmagic.web.ASGIMiddleware(app, inbound_headers=[])


@pytest.mark.parametrize("bad", ["x" * 201, "has space", "semi;colon", "new\nline", "ünï"])
def test_invalid_inbound_ids_are_replaced_and_the_replacement_logged(sink: ListSink, bad: str) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [environ["logmagic.txn_id"].encode()]

    headers: list[tuple[str, str]] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_X_TXN_ID": bad}
    body = logmagic.web.WSGIMiddleware(app)(environ, lambda status, h, *exc: headers.extend(h))
    text = b"".join(body).decode()
    new_id = dict(headers)["X-Response-Id"]
    assert new_id != bad and text == new_id and logmagic.parse_txn_id(new_id)
    (warning,) = [r for r in sink.records if r.msg == "replaced an invalid inbound transaction id"]
    assert warning.level == logmagic.WARNING and warning.fields["txnId"] == new_id
    shown = warning.fields["inbound"]
    assert len(shown) <= 80 and not any(ord(c) < 32 for c in shown)
    assert shown.startswith(bad[:10].replace("\n", "\\n"))


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_inbound_header_counts_as_none(sink: ListSink, blank: str) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [environ["logmagic.txn_id"].encode()]

    headers: list[tuple[str, str]] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_X_TXN_ID": blank}
    body = b"".join(logmagic.web.WSGIMiddleware(app)(environ, lambda status, h, *exc: headers.extend(h)))
    assert logmagic.parse_txn_id(body.decode()).host
    assert dict(headers)["X-Response-Id"] == body.decode()
    assert not [r for r in sink.records if r.level <= logmagic.WARNING]


def test_paths_are_logged_as_the_client_sent_them(sink: ListSink) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return []

    environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/api", "PATH_INFO": "/café".encode().decode("latin-1")}
    body = logmagic.web.WSGIMiddleware(app)(environ, lambda *a: None)
    b"".join(body)
    body.close()  # type: ignore[attr-defined]
    run_asgi(logmagic.web.ASGIMiddleware(_empty_asgi), {**http_scope("/api/x"), "root_path": "/api"})
    run_asgi(logmagic.web.ASGIMiddleware(_empty_asgi), {**http_scope("/y"), "root_path": "/api"})
    assert [r.fields["path"] for r in access(sink)] == ["/api/café", "/api/x", "/api/y"]


async def _empty_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_wsgi_streaming_body_runs_in_the_request_context_and_is_closed(sink: ListSink) -> None:
    log = logmagic.local("app")
    closed: list[str | None] = []

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            for i in range(3):
                log.info("chunk", i=i)
                yield b"ab"

        def close(self) -> None:
            closed.append(logmagic.current_txn_id())

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    mw = logmagic.web.WSGIMiddleware(app)
    client = httpx.Client(transport=httpx.WSGITransport(app=mw), base_url="http://t")
    resp = client.get("/s", headers={"X-Txn-Id": "stream-1"})
    assert resp.text == "ababab" and resp.headers["x-response-id"] == "stream-1"
    assert [r.fields["txnId"] for r in sink.records if r.msg == "chunk"] == ["stream-1"] * 3
    assert closed == ["stream-1"]
    (rec,) = access(sink)
    assert (rec.msg, rec.fields["bytes"], rec.fields["status"]) == ("GET /s 200", 6, 200)
    assert logmagic.current_txn_id() is None


def test_wsgi_exception_before_the_response_is_a_500_with_the_id(sink: ListSink) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise KeyError("gone")

    client = httpx.Client(transport=httpx.WSGITransport(app=logmagic.web.WSGIMiddleware(app)), base_url="http://t")
    resp = client.get("/x", headers={"Accept": "application/json"})
    assert resp.status_code == 500
    assert resp.json() == {"error": "Internal Server Error", "txnId": resp.headers["x-response-id"]}
    err = [r for r in sink.records if r.level == logmagic.ERR and "KeyError" in (r.full_message or "")]
    assert err and err[0].fields["txnId"] == resp.headers["x-response-id"]


def test_wsgi_exception_while_streaming_is_logged_and_reraised(sink: ListSink) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"partial"
        raise OSError("disk")

    body = logmagic.web.WSGIMiddleware(app)({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda *a: None)
    it = iter(body)
    assert next(it) == b"partial"
    with pytest.raises(OSError, match="disk"):
        next(it)
    body.close()  # type: ignore[attr-defined]
    assert any("after the response started" in r.msg for r in sink.records)
    (rec,) = access(sink)
    assert rec.fields["aborted"] is True and rec.level == logmagic.ERR


def test_outbound_headers_and_hooks() -> None:
    assert logmagic.web.txn_headers() == {}
    seen: list[str | None] = []
    transport = httpx.MockTransport(lambda request: seen.append(request.headers.get("x-txn-id")) or httpx.Response(204))
    client = httpx.Client(transport=transport, event_hooks={"request": [logmagic.web.httpx_hook]})
    with logmagic.transaction("out-1"):
        assert logmagic.web.txn_headers() == {"X-Txn-Id": "out-1"}
        client.get("http://b/")
        client.get("http://b/", headers={"X-Txn-Id": "explicit"})
    client.get("http://b/")
    assert seen == ["out-1", "explicit", None]


def test_requests_adapter_adds_the_header() -> None:
    import requests

    adapter = logmagic.web.requests_adapter()
    prepared = requests.Request("GET", "http://b/").prepare()
    with logmagic.transaction("out-2"):
        adapter.add_headers(prepared)
    assert prepared.headers["X-Txn-Id"] == "out-2"


TRAILING_AND_CONTROL = ["abc\n", "abc\r", "abc\r\n", "abc\x00", "\nabc", "x" * 201]


@pytest.mark.parametrize("bad", TRAILING_AND_CONTROL, ids=["lf", "cr", "crlf", "nul", "leading-lf", "201-chars"])
@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_a_trailing_newline_or_control_character_in_an_inbound_id_is_replaced(
    sink: ListSink, kind: str, bad: str
) -> None:
    seen: list[str] = []
    if kind == "wsgi":

        def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            seen.append(environ["logmagic.txn_id"])
            start_response("200 OK", [])
            return [b""]

        headers: list[tuple[str, str]] = []
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_X_TXN_ID": bad}
        b"".join(logmagic.web.WSGIMiddleware(wsgi_app)(environ, lambda status, h, *exc: headers.extend(h)))
        response_id = dict(headers)["X-Response-Id"]
    else:

        async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope["state"]["txn_id"])
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        sent = run_asgi(logmagic.web.ASGIMiddleware(asgi_app), http_scope(headers=[(b"x-txn-id", bad.encode())]))
        response_id = header(sent[0], b"x-response-id") or ""
    assert response_id != bad and response_id.strip() != bad.strip()
    assert logmagic.parse_txn_id(response_id), "a fresh id, not the inbound value"
    assert seen == [response_id]
    (warning,) = [r for r in sink.records if r.msg == "replaced an invalid inbound transaction id"]
    assert warning.fields["txnId"] == response_id and warning.fields["header"] == "X-Txn-Id"


@pytest.mark.parametrize("value", ["abc\n", "abc\r", "abc\x00", "x" * 201])
def test_valid_inbound_refuses_control_characters_at_either_end_and_overlong_ids(value: str) -> None:
    from logmagic.web._common import valid_inbound

    assert not valid_inbound(value)
    assert valid_inbound("x" * 200) and valid_inbound(".rh-3dT5.h-api0.r-pVDF7IRM.c-0.ts-1.v-1")


@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
def test_add_middleware_of_starlette_and_fastapi_takes_the_options(sink: ListSink, framework: str) -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, Response

    async def hello(request: Request) -> Response:
        return PlainTextResponse(f"id {request.state.txn_id}")

    async def broken(request: Request) -> Response:
        raise LookupError("no such card")

    app: Starlette
    if framework == "fastapi":
        from fastapi import FastAPI

        app = FastAPI()
        app.add_api_route("/hello", hello)
        app.add_api_route("/broken", broken)
    else:
        from starlette.routing import Route

        app = Starlette(routes=[Route("/hello", hello), Route("/broken", broken)])
    app.add_middleware(logmagic.web.ASGIMiddleware, inbound_headers=["X-Request-Id"], response_header="X-Trace")

    async def calls() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ok = await client.get("/hello", headers={"X-Request-Id": "upstream-1"})
            failed = await client.get("/broken", headers={"Accept": "application/json"})
        return ok, failed

    ok, failed = asyncio.run(calls())
    assert (ok.status_code, ok.text, ok.headers["X-Trace"]) == (200, "id upstream-1", "upstream-1")
    txn_id = failed.headers["X-Trace"]
    assert failed.status_code == 500 and failed.json() == {"error": "Internal Server Error", "txnId": txn_id}
    (err,) = [r for r in sink.records if r.msg == "unhandled exception in the application"]
    assert err.fields["txnId"] == txn_id and "LookupError: no such card" in (err.full_message or "")
    assert [(r.fields["path"], r.fields["status"]) for r in access(sink)] == [("/hello", 200), ("/broken", 500)]
