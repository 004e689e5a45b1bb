"""Header names, trust and W3C trace context end to end: real uvicorn and gunicorn servers.

The apps (``tests/e2e/apps/trace_app.py``, ``otel_app.py``) run under uvicorn (ASGI) and
gunicorn (WSGI) on 127.0.0.1 and log GELF lines to a file each; their outbound calls go to a
real HTTP server in this process that answers the headers it received.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import logmagic

from ..echo_server import serve_echo
from .servers import Record, Server, gunicorn, uvicorn

HOST = "trace-e2e.local"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{PARENT}-01"
TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
HEX16 = re.compile(r"[0-9a-f]{16}")
HEX32 = re.compile(r"[0-9a-f]{32}")
WARNING = 4


# -- a backend that says what it received --------------------------------------------------


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    yield from serve_echo()


def received(answer: dict[str, Any]) -> dict[str, str]:
    """The headers the backend received, by lower-case name; each must have come once."""
    pairs = answer["headers"]
    names = [k for k, _ in pairs]
    assert len(names) == len(set(names)), pairs
    return dict(pairs)


# -- servers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("trace-servers")


def _serve(kind: str, module: str, name: str, workdir: Path, **env: str) -> Server:
    if kind == "uvicorn":
        return uvicorn(name, f"{module}:asgi", workdir, HOST, **env)
    start_gunicorn: Any = gunicorn  # its keywords besides the environment's are typed; these are all str
    server: Server = start_gunicorn(name, f"{module}:wsgi", workdir, HOST, workers=1, **env)
    return server


@pytest.fixture(scope="module")
def default_servers(workdir: Path, backend: str) -> Iterator[dict[str, Server]]:
    servers = {k: _serve(k, "trace_app", f"trace-{k}", workdir, BACKEND_URL=backend) for k in ("uvicorn", "gunicorn")}
    yield servers
    for s in servers.values():
        s.stop()


@pytest.fixture(scope="module")
def edge_servers(workdir: Path, backend: str) -> Iterator[dict[str, Server]]:
    """Configured ``txn_header="X-Request-ID"``, ``response_header="X-Trace-Ref"``, ``trust_inbound=False``."""
    env = {"BACKEND_URL": backend, "TXN_HEADER": "X-Request-ID", "RESPONSE_HEADER": "X-Trace-Ref", "TRUST_INBOUND": "0"}
    servers = {k: _serve(k, "trace_app", f"edge-{k}", workdir, **env) for k in ("uvicorn", "gunicorn")}
    yield servers
    for s in servers.values():
        s.stop()


@pytest.fixture(scope="module")
def otel_servers(workdir: Path, backend: str) -> Iterator[dict[str, Server]]:
    servers = {k: _serve(k, "otel_app", f"otel-{k}", workdir, BACKEND_URL=backend) for k in ("uvicorn", "gunicorn")}
    yield servers
    for s in servers.values():
        s.stop()


@dataclass
class Reply:
    resp: httpx.Response
    txn_id: str
    records: list[Record]

    def one(self, message: str) -> Record:
        found = [r for r in self.records if r["short_message"] == message]
        assert len(found) == 1, (message, self.records)
        return found[0]


def get(server: Server, path: str, headers: Any = (), response_header: str = "X-Response-Id", count: int = 3) -> Reply:
    """GET ``path``; the reply, its id and (once ``count`` are there) the records of its id."""
    resp = httpx.get(f"{server.url}{path}", headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    txn_id = resp.headers.get(response_header)
    assert txn_id, resp.headers
    server.access_record(txn_id)  # the request's last record: the others were written before it
    return Reply(resp, txn_id, server.wait_for_txn(txn_id, count=count))


def cut(value: str) -> str:
    """An offending inbound value as the warning shows it: cut to 64 characters."""
    return value if len(value) <= 64 else value[:64] + "…"


KINDS = ["uvicorn", "gunicorn"]
HANDLER_RECORDS = ("logmagic record in the handler", "stdlib record in the handler", "GET /hello 200")


# -- inbound traceparent ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_valid_traceparent_puts_the_trace_on_every_record_of_the_request(
    default_servers: dict[str, Server], kind: str
) -> None:
    reply = get(default_servers[kind], "/hello", {"traceparent": TRACEPARENT, "tracestate": TRACESTATE})
    span_id = reply.resp.json()["fields"]["span_id"]
    assert HEX16.fullmatch(span_id) and span_id != PARENT  # the request's own span in the trace
    assert reply.resp.json()["fields"] == {"trace_id": TRACE, "span_id": span_id}
    for message in HANDLER_RECORDS:  # logmagic's, a captured logging record and the access record
        record = reply.one(message)
        assert (record["_trace_id"], record["_span_id"]) == (TRACE, span_id), record
    # what txn_headers() gives for an outbound call: the same trace, this request's span as parent
    assert reply.resp.json()["outbound"] == {
        "X-Txn-Id": reply.txn_id,
        "traceparent": f"00-{TRACE}-{span_id}-01",
        "tracestate": TRACESTATE,
    }


@pytest.mark.parametrize("kind", KINDS)
def test_each_request_gets_its_own_span_in_the_same_trace(default_servers: dict[str, Server], kind: str) -> None:
    first = get(default_servers[kind], "/hello", {"traceparent": TRACEPARENT})
    second = get(default_servers[kind], "/hello", {"traceparent": TRACEPARENT})
    assert first.one("GET /hello 200")["_trace_id"] == second.one("GET /hello 200")["_trace_id"] == TRACE
    assert first.one("GET /hello 200")["_span_id"] != second.one("GET /hello 200")["_span_id"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "value",
    [
        f"00-{TRACE.upper()}-{PARENT}-01",
        f"ff-{TRACE}-{PARENT}-01",
        f"00-{'0' * 32}-{PARENT}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"00-{TRACE}-{PARENT}-01-what-the-future-will-be-like",
        f"00-{TRACE}-{PARENT}-01.",
    ],
    ids=["upper-case", "version-ff", "zero-trace-id", "zero-parent-id", "00-extra-field", "00-trailing-dot"],
)
def test_an_invalid_traceparent_is_ignored_and_said_once(
    default_servers: dict[str, Server], kind: str, value: str
) -> None:
    reply = get(default_servers[kind], "/hello", {"traceparent": value, "tracestate": TRACESTATE}, count=4)
    for message in HANDLER_RECORDS:
        assert "_trace_id" not in reply.one(message) and "_span_id" not in reply.one(message)
    warning = reply.one("ignored an invalid traceparent header")
    assert warning["level"] == WARNING
    assert warning["_inbound"] == cut(value)
    assert reply.resp.json()["outbound"] == {"X-Txn-Id": reply.txn_id}  # no trace to continue


@pytest.mark.parametrize("kind", KINDS)
def test_two_traceparent_headers_are_ignored(default_servers: dict[str, Server], kind: str) -> None:
    other = f"00-{'1' * 32}-{PARENT}-01"
    reply = get(default_servers[kind], "/hello", [("traceparent", TRACEPARENT), ("traceparent", other)], count=4)
    assert "_trace_id" not in reply.one("GET /hello 200")
    assert reply.one("ignored an invalid traceparent header")["_inbound"] == cut(f"{TRACEPARENT},{other}")


@pytest.mark.parametrize("kind", KINDS)
def test_a_later_version_is_continued_as_version_00(default_servers: dict[str, Server], kind: str) -> None:
    value = f"cc-{TRACE}-{PARENT}-03-what-the-future-will-be-like"
    reply = get(default_servers[kind], "/hello", {"traceparent": value})
    span_id = reply.one("GET /hello 200")["_span_id"]
    assert reply.one("GET /hello 200")["_trace_id"] == TRACE
    # only the sampled bit of a later version's flags is known; the fields after it are not sent
    assert reply.resp.json()["outbound"]["traceparent"] == f"00-{TRACE}-{span_id}-01"


# -- outbound --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("client", ["call-httpx", "call-requests"])
def test_outbound_calls_send_the_id_and_continue_the_trace(
    default_servers: dict[str, Server], kind: str, client: str
) -> None:
    reply = get(
        default_servers[kind],
        f"/{client}",
        {"traceparent": f"00-{TRACE}-{PARENT}-00", "tracestate": TRACESTATE},
        count=1,
    )
    span_id = reply.one(f"GET /{client} 200")["_span_id"]
    got = received(reply.resp.json())
    assert got["x-txn-id"] == reply.txn_id
    assert got["traceparent"] == f"00-{TRACE}-{span_id}-00"  # same trace, a new parent-id, flags kept
    assert got["tracestate"] == TRACESTATE


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("client", ["call-httpx", "call-requests"])
def test_outside_a_trace_only_the_id_is_sent(default_servers: dict[str, Server], kind: str, client: str) -> None:
    reply = get(default_servers[kind], f"/{client}", count=1)
    got = received(reply.resp.json())
    assert got["x-txn-id"] == reply.txn_id
    assert "traceparent" not in got and "tracestate" not in got


# -- configured header names and trust -------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_an_edge_service_makes_its_own_id_and_keeps_the_clients_as_client_txn_id(
    edge_servers: dict[str, Server], kind: str
) -> None:
    reply = get(edge_servers[kind], "/hello", {"X-Request-ID": "client-chosen-42"}, response_header="X-Trace-Ref")
    assert "X-Response-Id" not in reply.resp.headers
    assert reply.txn_id != "client-chosen-42"
    assert logmagic.parse_txn_id(reply.txn_id).host == HOST  # made here
    assert reply.resp.json()["current"] == reply.txn_id
    assert reply.resp.json()["fields"] == {"clientTxnId": "client-chosen-42"}
    for message in HANDLER_RECORDS:
        assert reply.one(message)["_clientTxnId"] == "client-chosen-42"


@pytest.mark.parametrize("kind", KINDS)
def test_an_edge_service_drops_an_invalid_client_id_with_a_warning(edge_servers: dict[str, Server], kind: str) -> None:
    reply = get(edge_servers[kind], "/hello", {"X-Request-ID": "x" * 201}, response_header="X-Trace-Ref", count=4)
    assert all("_clientTxnId" not in r for r in reply.records)
    warning = reply.one("dropped an invalid client transaction id")
    assert warning["level"] == WARNING
    assert warning["_header"] == "X-Request-ID"
    assert warning["_inbound"] == "x" * 64 + "…"


@pytest.mark.parametrize("kind", KINDS)
def test_the_configured_txn_header_is_the_one_read(edge_servers: dict[str, Server], kind: str) -> None:
    reply = get(edge_servers[kind], "/hello", {"X-Txn-Id": "under-the-default-name"}, response_header="X-Trace-Ref")
    assert all("_clientTxnId" not in r for r in reply.records)  # X-Txn-Id is not the header any more


@pytest.mark.parametrize("kind", KINDS)
def test_middleware_keywords_win_over_the_configuration(edge_servers: dict[str, Server], kind: str) -> None:
    """``/internal`` is wrapped with ``trust_inbound=True, response_header="X-Internal-Ref"``."""
    reply = get(
        edge_servers[kind], "/internal/hello", {"X-Request-ID": "trusted-upstream-7"}, response_header="X-Internal-Ref"
    )
    assert reply.txn_id == "trusted-upstream-7"  # read from the configured txn_header, trusted here
    assert "X-Trace-Ref" not in reply.resp.headers
    assert reply.resp.json()["fields"] == {}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("client", ["call-httpx", "call-requests"])
def test_outbound_calls_use_the_configured_txn_header(edge_servers: dict[str, Server], kind: str, client: str) -> None:
    reply = get(edge_servers[kind], f"/{client}", response_header="X-Trace-Ref", count=1)
    got = received(reply.resp.json())
    assert got["x-request-id"] == reply.txn_id
    assert "x-txn-id" not in got


# -- OpenTelemetry ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_current_opentelemetry_span_wins_on_records_and_outbound(otel_servers: dict[str, Server], kind: str) -> None:
    reply = get(otel_servers[kind], "/span", {"traceparent": TRACEPARENT}, count=4)
    span = reply.resp.json()["span"]
    assert HEX32.fullmatch(span["trace_id"]) and HEX16.fullmatch(span["span_id"])
    for message in ("logmagic record in the span", "stdlib record in the span"):
        record = reply.one(message)
        assert (record["_trace_id"], record["_span_id"]) == (span["trace_id"], span["span_id"]), record
    # outside the app's span: the inbound traceparent's trace, continued by logmagic
    before = reply.one("before the span")
    assert before["_trace_id"] == TRACE and before["_span_id"] != span["span_id"]
    got = received(reply.resp.json()["backend"])
    assert got["traceparent"] == f"00-{span['trace_id']}-{span['span_id']}-{span['flags']}"  # the span's own flags
    assert got["x-txn-id"] == reply.txn_id  # the txnId stays logmagic's own


@pytest.mark.parametrize("kind", KINDS)
def test_a_server_span_around_the_middleware_wins_over_the_inbound_traceparent(
    otel_servers: dict[str, Server], kind: str
) -> None:
    reply = get(otel_servers[kind], "/wrapped/span", {"traceparent": TRACEPARENT}, count=4)
    outer, span = reply.resp.json()["outer"], reply.resp.json()["span"]
    assert outer["trace_id"] != TRACE
    for message in ("before the span", "GET /wrapped/span 200"):
        record = reply.one(message)
        assert (record["_trace_id"], record["_span_id"]) == (outer["trace_id"], outer["span_id"]), record
    inside = reply.one("logmagic record in the span")
    assert (inside["_trace_id"], inside["_span_id"]) == (outer["trace_id"], span["span_id"])
    assert not [r for r in reply.records if r["short_message"] == "ignored an invalid traceparent header"]
