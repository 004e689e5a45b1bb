"""Header names, trust and trace context in process: ``configure()``'s checks, ``begin()`` (the one
decision every middleware makes), ``txn.set_scope``, the outbound headers and OpenTelemetry.

The middleware against real servers: tests/e2e/test_trace_servers.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

import logmagic
import logmagic.web
from logmagic import config, rewriters, trace_context, txn
from logmagic.integrations import otel
from logmagic.trace_context import TraceParent
from logmagic.web._common import Options, begin

from .conftest import ListSink
from .echo_server import serve_echo

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{PARENT}-01"


@pytest.fixture
def sink() -> ListSink:
    out = ListSink()
    logmagic.register_sink("test", out)
    logmagic.route("__root__", logmagic.TRACE8, "test")
    return out


def headers_of(mapping: dict[str, str]) -> Any:
    lower = {k.lower(): v for k, v in mapping.items()}
    return lambda name: lower.get(name.lower())


def begin_with(headers: dict[str, str], **options: Any) -> Any:
    return begin(Options.make(**options), headers_of(headers), logmagic.local("logmagic.access"))


# -- configure() -----------------------------------------------------------------------------


def test_configure_sets_the_header_names_and_trust_and_reset_restores_them() -> None:
    logmagic.configure(txn_header="X-Request-ID", response_header="X-Ref", trust_inbound=False)
    inbound = begin_with({"X-Request-ID": "client-1", "X-Txn-Id": "other"})
    assert inbound.response_header == "X-Ref"
    assert inbound.txn_id != "client-1" and inbound.fields == {"clientTxnId": "client-1"}
    assert logmagic.web.txn_headers() == {}  # outside a transaction
    with logmagic.transaction("t-1"):
        assert logmagic.web.txn_headers() == {"X-Request-ID": "t-1"}

    logmagic.configure(trust_inbound=True)  # the other options stay as they were
    assert begin_with({"X-Request-ID": "client-1"}).txn_id == "client-1"
    assert begin_with({}).response_header == "X-Ref"

    logmagic.reset()
    inbound = begin_with({"X-Request-ID": "client-1", "X-Txn-Id": "default-name"})
    assert (inbound.txn_id, inbound.response_header) == ("default-name", "X-Response-Id")


def test_snapshot_and_restore_carry_the_header_options() -> None:
    snap = config.snapshot()
    logmagic.configure(txn_header="X-Request-ID")
    assert begin_with({"X-Request-ID": "a"}).txn_id == "a"
    config.restore(snap)
    assert begin_with({"X-Request-ID": "a"}).txn_id != "a"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"txn_header": "X Txn"}, "txn_header must be an HTTP header name"),
        ({"txn_header": ""}, "txn_header must be an HTTP header name"),
        ({"txn_header": "X-Id\r\nX-Evil: 1"}, "txn_header must be an HTTP header name"),
        ({"txn_header": 5}, "txn_header must be an HTTP header name"),
        ({"txn_header": "traceparent"}, "txn_header cannot be 'traceparent'"),
        ({"response_header": "X-Réf"}, "response_header must be an HTTP header name"),
        ({"response_header": "TraceState"}, "response_header cannot be 'TraceState'"),
        ({"trust_inbound": "no"}, "trust_inbound must be True or False"),
        ({"trust_inbound": 0}, "trust_inbound must be True or False"),
    ],
)
def test_a_bad_header_option_is_refused_and_nothing_changes(options: dict[str, Any], message: str) -> None:
    logmagic.configure(host="before.local")
    with pytest.raises(ValueError, match=message):
        logmagic.configure(host="after.local", **{"txn_header": "X-Request-ID", **options})
    assert logmagic.parse_txn_id(logmagic.new_txn_id()).host == "before.local"
    assert begin_with({"X-Request-ID": "a"}).txn_id != "a"  # txn_header did not change either


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"inbound_headers": []}, "inbound_headers must be header names"),
        ({"inbound_headers": ["X-Ok", "bad name"]}, "inbound_headers must be an HTTP header name"),
        ({"response_header": "X-Bad:"}, "response_header must be an HTTP header name"),
        ({"trust_inbound": "yes"}, "trust_inbound must be True, False or None"),
    ],
)
def test_middleware_options_are_checked_when_it_is_made(options: dict[str, Any], message: str) -> None:
    async def asgi_app(scope: Any, receive: Any, send: Any) -> None: ...

    with pytest.raises(ValueError, match=message):
        logmagic.web.WSGIMiddleware(lambda environ, start_response: [], **options)
    with pytest.raises(ValueError, match=message):
        logmagic.web.ASGIMiddleware(asgi_app, **options)


# -- begin() ---------------------------------------------------------------------------------


def test_middleware_keywords_win_over_configure_and_configure_later_is_followed() -> None:
    options = Options.make(inbound_headers=["X-Upstream-Id"], response_header="X-Mine", trust_inbound=True)
    logmagic.configure(txn_header="X-Request-ID", response_header="X-Ref", trust_inbound=False)
    inbound = begin(options, headers_of({"X-Upstream-Id": "up-1", "X-Request-ID": "no"}), logmagic.local("x"))
    assert (inbound.txn_id, inbound.response_header, inbound.fields) == ("up-1", "X-Mine", {})

    defaults = Options.make()  # made before the next configure(): follows it at each request
    logmagic.configure(txn_header="X-Correlation-Id")
    assert begin(defaults, headers_of({"X-Correlation-Id": "c-9"}), logmagic.local("x")).fields == {
        "clientTxnId": "c-9"
    }


def test_an_untrusted_blank_client_id_is_no_id(sink: ListSink) -> None:
    inbound = begin_with({"X-Txn-Id": "   "}, trust_inbound=False)
    assert inbound.fields == {}
    assert sink.records == []


def test_an_untrusted_invalid_client_id_is_dropped_and_said(sink: ListSink) -> None:
    inbound = begin_with({"X-Txn-Id": "bad\nid"}, trust_inbound=False)
    assert inbound.fields == {}
    (warning,) = sink.records
    assert warning.msg == "dropped an invalid client transaction id"
    assert warning.level == logmagic.WARNING
    assert warning.fields["inbound"] == "bad\\nid"
    assert warning.fields["txnId"] == inbound.txn_id


def test_a_valid_traceparent_gives_the_request_a_span_of_its_own(sink: ListSink) -> None:
    inbound = begin_with({"TraceParent": TRACEPARENT, "TRACESTATE": "congo=1"})
    assert inbound.trace is not None
    assert inbound.trace == TraceParent(TRACE, inbound.trace.span_id, 0x01, "congo=1")
    assert inbound.trace.span_id != PARENT
    assert inbound.fields == {"trace_id": TRACE, "span_id": inbound.trace.span_id}
    assert sink.records == []


def test_activate_puts_the_id_fields_and_trace_in_force_and_undo_restores(sink: ListSink) -> None:
    inbound = begin_with({"X-Txn-Id": "client", "traceparent": TRACEPARENT}, trust_inbound=False)
    with logmagic.context(accountId=7, clientTxnId="outer"):
        undo = inbound.activate()
        logmagic.local("app").info("inside")
        assert trace_context.current() == inbound.trace
        undo()
        assert logmagic.context_fields() == {"accountId": 7, "clientTxnId": "outer"}
    assert trace_context.current() is None and logmagic.current_txn_id() is None
    (record,) = sink.records
    assert record.fields == {
        "txnId": inbound.txn_id,
        "accountId": 7,
        "clientTxnId": "client",  # the request's own wins over an outer block's
        "trace_id": TRACE,
        "span_id": inbound.fields["span_id"],
    }


def test_set_scope_sets_id_and_fields_in_one_step() -> None:
    token = txn.set_scope("t-1", {})
    assert txn.get_current() == "t-1"  # no fields: the id alone, as set_current does
    txn.reset_current(token)
    with logmagic.context(a=1, b=2):
        token = txn.set_scope("t-2", {"b": 3})
        assert (logmagic.current_txn_id(), logmagic.context_fields()) == ("t-2", {"a": 1, "b": 3})
        txn.reset_current(token)
        assert (logmagic.current_txn_id(), logmagic.context_fields()) == (None, {"a": 1, "b": 2})


# -- outbound --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    yield from serve_echo()


def sent_with_httpx(url: str, **headers: str) -> dict[str, str]:
    with httpx.Client(event_hooks={"request": [logmagic.web.httpx_hook]}) as client:
        return dict(client.get(url, headers=headers).json()["headers"])


def sent_with_requests(url: str, **headers: str) -> dict[str, str]:
    with requests.Session() as session:
        session.mount("http://", logmagic.web.requests_adapter())
        return dict(session.get(url, headers=headers, timeout=10).json()["headers"])


SENDERS = [sent_with_httpx, sent_with_requests]


@pytest.mark.parametrize("send", SENDERS, ids=["httpx", "requests"])
def test_outbound_continues_the_current_trace(echo: str, send: Any) -> None:
    ours = TraceParent(TRACE, "1111111111111111", 0x00, "congo=1")
    token = trace_context.set_current(ours)
    try:
        with logmagic.transaction("t-out"):
            got = send(echo)
            assert logmagic.web.txn_headers() == {
                "X-Txn-Id": "t-out",
                "traceparent": f"00-{TRACE}-1111111111111111-00",
                "tracestate": "congo=1",
            }
    finally:
        trace_context.reset_current(token)
    assert got["x-txn-id"] == "t-out"
    assert got["traceparent"] == f"00-{TRACE}-1111111111111111-00"
    assert got["tracestate"] == "congo=1"


@pytest.mark.parametrize("send", SENDERS, ids=["httpx", "requests"])
def test_headers_the_caller_set_are_left_alone(echo: str, send: Any) -> None:
    token = trace_context.set_current(TraceParent(TRACE, "1111111111111111", 0x01, "congo=1"))
    try:
        with logmagic.transaction("t-out"):
            got = send(echo, **{"X-Txn-Id": "callers", "traceparent": f"00-{'2' * 32}-{'3' * 16}-01"})
    finally:
        trace_context.reset_current(token)
    assert got["x-txn-id"] == "callers"
    assert got["traceparent"] == f"00-{'2' * 32}-{'3' * 16}-01"
    assert "tracestate" not in got  # ours belongs to our traceparent, not to the caller's


# -- OpenTelemetry ---------------------------------------------------------------------------

#: A real SDK provider, not installed globally (other tests must not see OpenTelemetry in use).
tracer = TracerProvider().get_tracer("tests")


def span_ids(span: trace.Span) -> tuple[str, str]:
    ctx = span.get_span_context()
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def test_without_a_current_span_nothing_is_installed(sink: ListSink) -> None:
    assert not otel.in_use()
    inbound = begin_with({"traceparent": TRACEPARENT})
    assert inbound.fields["trace_id"] == TRACE
    assert not otel.installed()


def test_a_current_span_wins_on_records_and_outbound(sink: ListSink) -> None:
    inbound = begin_with({"traceparent": TRACEPARENT})
    undo = inbound.activate()
    log = logmagic.local("app")
    try:
        otel.install()
        otel.install()  # idempotent
        assert rewriters.chain().count(otel.span_fields) == 1
        log.info("before the span")
        with tracer.start_as_current_span("work") as span:
            log.info("in the span")
            log.info("own ids", trace_id="mine")
            headers = logmagic.web.txn_headers()
        log.info("after the span")
    finally:
        undo()
    trace_id, span_id = span_ids(span)
    before, inside, own, after = sink.records
    assert (before.fields["trace_id"], before.fields["span_id"]) == (TRACE, inbound.fields["span_id"])
    assert (inside.fields["trace_id"], inside.fields["span_id"]) == (trace_id, span_id)
    assert own.fields["trace_id"] == "mine" and own.fields["span_id"] == inbound.fields["span_id"]
    assert after.fields["trace_id"] == TRACE
    flags = f"{int(span.get_span_context().trace_flags):02x}"
    assert headers["traceparent"] == f"00-{trace_id}-{span_id}-{flags}"
    assert headers["X-Txn-Id"] == inbound.txn_id

    logmagic.reset()
    assert not otel.installed()


def test_a_span_current_when_the_request_begins_is_the_requests_trace(sink: ListSink) -> None:
    with tracer.start_as_current_span("server") as span:
        inbound = begin_with({"traceparent": TRACEPARENT})
    trace_id, span_id = span_ids(span)
    assert inbound.fields == {"trace_id": trace_id, "span_id": span_id}
    assert inbound.trace is not None and inbound.trace.trace_id == trace_id
    assert otel.installed()  # seen in use: records follow the current span from now on
    assert sink.records == []  # the inbound header was not even read


def test_a_remote_parent_is_not_this_processs_span(sink: ListSink) -> None:
    remote = SpanContext(int(TRACE, 16), int(PARENT, 16), is_remote=True, trace_flags=TraceFlags(1))
    with trace.use_span(NonRecordingSpan(remote)):
        assert otel.current_trace() is None
        inbound = begin_with({"traceparent": TRACEPARENT})
    assert inbound.fields["span_id"] != PARENT  # logmagic's own span in the inbound trace


def test_nothing_imports_opentelemetry_unless_the_application_did() -> None:
    code = """
import sys
import logmagic, logmagic.web
from logmagic.integrations import stdlib

def app(environ, start_response):
    logmagic.local("app").info("hello")
    assert logmagic.web.txn_headers()["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    start_response("200 OK", [])
    return [b"ok"]

mw = logmagic.web.WSGIMiddleware(app)
environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_TRACEPARENT": "<TP>"}
body = mw(environ, lambda status, headers, exc_info=None: None)
list(body)
body.close()
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
assert loaded == [], loaded
print("ok")
""".replace("<TP>", TRACEPARENT)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
