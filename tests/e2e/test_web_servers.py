"""The web middleware end to end: real uvicorn and gunicorn processes on 127.0.0.1.

Service A is a FastAPI app under uvicorn (ASGI), service B a Flask app with
``logmagic.web.flask.init_app`` under gunicorn with two workers (WSGI, ``--preload`` so logmagic
is imported before the fork). Each server logs GELF lines to its own file, configured by
``LOGMAGIC_SINKS``/``LOGMAGIC_ROUTES`` alone; the tests read those files. Django has its own
module, test_django.py.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

import logmagic
import logmagic.web

from .servers import Record, Server, gunicorn, is_access, uvicorn

HOST_A = "service-a.local"
HOST_B = "service-b.local"
AGENT = "logmagic-e2e/1.0"
#: Valid inbound ids: an opaque upstream id with every allowed punctuation, and the longest allowed.
VALID_INBOUND = ["upstream-7f3a:zone/1+x=y_z.9", "a" * 200]

ACCESS = "logmagic.access"
INFO, WARNING, ERR = 6, 4, 3  # GELF (syslog) levels


# -- servers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web-servers")


@pytest.fixture(scope="module")
def service_b(workdir: Path) -> Iterator[Server]:
    server = gunicorn("flask-b", "flask_app:app", workdir, HOST_B, workers=2, preload=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service_a(workdir: Path, service_b: Server) -> Iterator[Server]:
    server = uvicorn("asgi-a", "asgi_app:app", workdir, HOST_A, BACKEND_URL=service_b.url)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service_a_behind_prefix(workdir: Path, service_b: Server) -> Iterator[Server]:
    """Service A behind a proxy that serves it under ``/api`` and strips the prefix (uvicorn ``--root-path``)."""
    server = uvicorn(
        "asgi-a-api", "asgi_app:app", workdir, HOST_A, args=["--root-path", "/api"], BACKEND_URL=service_b.url
    )
    yield server
    server.stop()


@dataclass
class App:
    """A served app and what its records look like."""

    server: Server
    host: str
    facility: str
    error: str

    def get(self, path: str, **headers: Any) -> httpx.Response:
        return httpx.get(f"{self.server.url}{path}", headers={"User-Agent": AGENT, **headers}, timeout=30)


@pytest.fixture(params=["uvicorn-fastapi", "gunicorn-flask"])
def app(request: pytest.FixtureRequest) -> App:
    """Each check of the middleware runs against the ASGI and the WSGI service."""
    if request.param == "uvicorn-fastapi":
        return App(request.getfixturevalue("service_a"), HOST_A, "e2e.asgi", "RuntimeError: kaboom from the asgi app")
    return App(request.getfixturevalue("service_b"), HOST_B, "e2e.flask", "RuntimeError: kaboom from the flask app")


def one(records: list[Record], message: str) -> Record:
    found = [r for r in records if r["short_message"] == message]
    assert len(found) == 1, (message, records)
    return found[0]


def response_id(resp: httpx.Response | requests.Response) -> str:
    txn_id = resp.headers.get("X-Response-Id")
    assert txn_id, f"no X-Response-Id on {resp.status_code} {resp.headers}"
    return txn_id


def logmagic_cli(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "logmagic"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "logmagic.tools.cli"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=60)


# -- one service: the id, the records, the access record, the 500 page ----------------------


def test_a_request_without_an_id_gets_a_fresh_one_naming_the_configured_host(app: App) -> None:
    first, second = app.get("/hello"), app.get("/hello")
    assert first.status_code == second.status_code == 200
    txn_id = response_id(first)
    assert response_id(second) != txn_id

    info = logmagic.parse_txn_id(txn_id)
    assert info.host == app.host
    assert info.version == "e2e-1.0"
    assert abs(info.time.timestamp() - time.time()) < 3600  # the id's clock is this machine's, in ms

    body = first.json()
    assert body["app_txn_id"] == txn_id  # request.state.txn_id / environ["logmagic.txn_id"]
    assert body["current"] == txn_id  # logmagic.current_txn_id() in the handler

    records = app.server.wait_for_txn(txn_id, count=3)
    plain = one(records, "plain record in the handler" if app.facility == "e2e.asgi" else "plain record in the view")
    assert plain["_facility"] == app.facility
    assert plain["host"] == app.host
    with_request = one(records, "record with the request")
    assert with_request["_step"] == 2
    assert with_request["_method"] == "GET"
    assert with_request["_path"] == "/hello"
    assert with_request["_remote_addr"] == "127.0.0.1"
    assert with_request["_user_agent"] == AGENT
    assert "_request" not in with_request


@pytest.mark.parametrize("inbound", VALID_INBOUND, ids=["punctuation", "200-chars"])
def test_a_valid_inbound_id_is_used_as_is(app: App, inbound: str) -> None:
    resp = app.get("/hello", **{"X-Txn-Id": inbound})
    assert resp.status_code == 200
    assert response_id(resp) == inbound
    assert resp.json()["app_txn_id"] == inbound
    assert resp.json()["current"] == inbound

    records = app.server.wait_for_txn(inbound, count=3)
    assert {r["short_message"] for r in records} >= {"record with the request", "GET /hello 200"}
    assert not [r for r in app.server.records() if r.get("_inbound") == inbound[:64]]


@pytest.mark.parametrize(
    ("inbound", "shown"),
    [
        (b"has spaces; and <script>", "has spaces; and <script>"),
        (b"x" * 201, "x" * 64 + "…"),
        (b"ctl\x85\x9b[31mred", "ctl\\x85\\x9b[31mred"),
    ],
    ids=["bad-characters", "too-long", "control-characters"],
)
def test_an_invalid_inbound_id_is_replaced_and_the_replacement_logged(app: App, inbound: bytes, shown: str) -> None:
    resp = app.get("/hello", **{"X-Txn-Id": inbound})
    assert resp.status_code == 200
    txn_id = response_id(resp)
    assert txn_id.encode("latin-1") != inbound
    assert logmagic.parse_txn_id(txn_id).host == app.host
    assert resp.json()["app_txn_id"] == resp.json()["current"] == txn_id

    records = app.server.wait_for_txn(txn_id, count=4)
    warning = one(records, "replaced an invalid inbound transaction id")
    assert warning["level"] == WARNING
    assert warning["_facility"] == ACCESS
    assert warning["_header"] == "X-Txn-Id"
    assert warning["_inbound"] == shown
    assert one(records, "record with the request")["_path"] == "/hello"


def test_the_access_record_describes_the_request(app: App) -> None:
    resp = app.get("/hello")
    txn_id = response_id(resp)
    access = app.server.access_record(txn_id)
    assert access["_facility"] == ACCESS
    assert access["short_message"] == "GET /hello 200"
    assert access["level"] == INFO
    assert access["host"] == app.host
    assert access["_method"] == "GET"
    assert access["_path"] == "/hello"
    assert access["_status"] == 200
    assert access["_bytes"] == len(resp.content)
    assert isinstance(access["_duration_ms"], (int, float)) and access["_duration_ms"] >= 0
    assert access["_remote_addr"] == "127.0.0.1"
    assert access["_user_agent"] == AGENT
    assert access["_txnId"] == txn_id


def test_a_4xx_access_record_is_a_warning(app: App) -> None:
    resp = app.get("/no/such/page")
    assert resp.status_code == 404
    access = app.server.access_record(response_id(resp))
    assert access["short_message"] == "GET /no/such/page 404"
    assert access["level"] == WARNING
    assert access["_status"] == 404


@pytest.mark.parametrize(
    ("accept", "inbound"),
    [("application/json", None), ("text/html", None), ("application/json", "client-ref-42")],
    ids=["json", "text", "json-inbound-id"],
)
def test_an_unhandled_exception_gives_a_500_carrying_the_id_and_an_err_record(
    app: App, accept: str, inbound: str | None
) -> None:
    headers = {"Accept": accept, **({"X-Txn-Id": inbound} if inbound else {})}
    resp = app.get("/boom", **headers)
    assert resp.status_code == 500
    txn_id = response_id(resp)
    if inbound:
        assert txn_id == inbound
    if accept == "application/json":
        assert resp.headers["content-type"].startswith("application/json")
        assert resp.json() == {"error": "Internal Server Error", "txnId": txn_id}
    else:
        assert resp.headers["content-type"].startswith("text/plain")
        assert txn_id in resp.text

    records = app.server.wait_for_txn(txn_id, count=3)
    error = one(records, "unhandled exception in the application")
    assert error["level"] == ERR
    assert error["_facility"] == ACCESS
    assert "Traceback (most recent call last)" in error["full_message"]
    assert app.error in error["full_message"]
    assert error["_path"] == "/boom"
    assert one(records, "about to fail")["_facility"] == app.facility

    access = app.server.access_record(txn_id)
    assert access["short_message"] == "GET /boom 500"
    assert access["level"] == ERR
    assert access["_bytes"] == len(resp.content)


def test_a_streamed_body_is_produced_inside_the_transaction(app: App) -> None:
    resp = app.get("/stream")
    assert resp.status_code == 200
    txn_id = response_id(resp)
    assert resp.text.splitlines() == [f"{i}:{txn_id}" for i in range(5)]
    message = "async chunk" if app.facility == "e2e.asgi" else "wsgi chunk"
    chunks = app.server.wait_for(lambda r: r["short_message"] == message and r.get("_txnId") == txn_id, count=5)
    assert sorted(r["_chunk"] for r in chunks) == list(range(5))
    access = app.server.access_record(txn_id)
    assert access["_bytes"] == len(resp.content)
    assert access["_status"] == 200


def test_an_exception_after_the_response_started_is_logged_and_the_request_marked_aborted(app: App) -> None:
    with httpx.stream("GET", f"{app.server.url}/stream-fail", timeout=30) as resp:
        assert resp.status_code == 200
        txn_id = response_id(resp)
        try:
            resp.read()
        except httpx.HTTPError:
            pass  # the server closes the connection mid-body
    records = app.server.wait_for_txn(txn_id, count=2)
    error = one(records, "unhandled exception after the response started; the connection is closed")
    assert error["level"] == ERR
    assert "RuntimeError: the stream broke" in error["full_message"]
    access = app.server.access_record(txn_id)
    assert access["level"] == ERR
    assert access["_aborted"] is True
    assert access["_status"] == 200


def test_a_second_inbound_header_is_tried_when_the_first_is_absent(app: App) -> None:
    resp = app.get("/hello", **{"X-Request-Id": "from-the-load-balancer"})
    assert response_id(resp) == "from-the-load-balancer"
    assert resp.json()["app_txn_id"] == "from-the-load-balancer"

    both = app.get("/hello", **{"X-Txn-Id": "from-upstream", "X-Request-Id": "from-the-load-balancer"})
    assert response_id(both) == "from-upstream"  # tried in order

    bad = app.get("/hello", **{"X-Request-Id": "no spaces allowed"})
    txn_id = response_id(bad)
    assert logmagic.parse_txn_id(txn_id).host == app.host
    warning = one(app.server.wait_for_txn(txn_id, count=3), "replaced an invalid inbound transaction id")
    assert warning["_header"] == "X-Request-Id"
    assert warning["_inbound"] == "no spaces allowed"


def test_a_non_ascii_path_is_logged_as_the_client_sent_it(app: App) -> None:
    resp = app.get("/caf%C3%A9")  # UTF-8 "café", percent-encoded as a browser sends it
    assert resp.status_code == 404
    access = app.server.access_record(response_id(resp))
    assert access["_path"] == "/café"
    assert access["short_message"] == "GET /café 404"


# -- ASGI specifics ----------------------------------------------------------------------------


def test_asgi_under_a_root_path_logs_the_path_once(service_a_behind_prefix: Server) -> None:
    # ASGI: scope["path"] already includes scope["root_path"] (uvicorn prepends it, Starlette strips it to route).
    resp = httpx.get(f"{service_a_behind_prefix.url}/hello", timeout=30)
    assert resp.status_code == 200
    txn_id = response_id(resp)
    with_request = one(service_a_behind_prefix.wait_for_txn(txn_id, count=3), "record with the request")
    access = service_a_behind_prefix.access_record(txn_id)
    assert access["_path"] == "/api/hello"
    assert access["short_message"] == "GET /api/hello 200"
    assert with_request["_path"] == "/api/hello"


def test_asgi_concurrent_requests_on_one_event_loop_keep_their_own_ids(service_a: Server) -> None:
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*(client.get(f"{service_a.url}/interleave?n={n}") for n in range(8)))

    responses = asyncio.run(run())
    ids = {resp.json()["n"]: response_id(resp) for resp in responses}
    assert all(resp.json()["current"] == ids[resp.json()["n"]] for resp in responses)
    assert len(set(ids.values())) == 8
    records = service_a.wait_for(lambda r: r["short_message"].endswith("the pause") and r["_txnId"] in ids.values(), 16)
    assert len(records) == 16
    assert all(r["_txnId"] == ids[r["_n"]] for r in records)


def test_asgi_a_sync_generator_streamed_from_the_threadpool_keeps_the_id(service_a: Server) -> None:
    resp = httpx.get(f"{service_a.url}/stream-sync", timeout=30)
    txn_id = response_id(resp)
    assert resp.text.splitlines() == [f"{i}:{txn_id}" for i in range(5)]
    chunks = service_a.wait_for(lambda r: r["short_message"] == "sync chunk" and r.get("_txnId") == txn_id, count=5)
    assert sorted(r["_chunk"] for r in chunks) == list(range(5))


def test_asgi_a_500_the_app_returns_on_purpose_goes_out_unchanged(service_a: Server) -> None:
    resp = httpx.get(f"{service_a.url}/deliberate-500", headers={"Accept": "application/json"}, timeout=30)
    assert resp.status_code == 500
    assert resp.text == "the app chose this 500"
    txn_id = response_id(resp)
    access = service_a.access_record(txn_id)
    assert access["level"] == ERR
    assert access["_bytes"] == len(resp.content)
    records = service_a.wait_for_txn(txn_id)
    assert not [r for r in records if r["short_message"] == "unhandled exception in the application"]


# -- Flask: init_app's exception hook -----------------------------------------------------------


def test_flask_writes_an_unhandled_exception_once(service_b: Server) -> None:
    resp = httpx.get(f"{service_b.url}/boom", timeout=30)
    assert resp.status_code == 500
    txn_id = response_id(resp)
    service_b.access_record(txn_id)  # written after the error record
    records = [r for r in service_b.records() if r.get("_txnId") == txn_id]
    assert [r["short_message"] for r in records if "full_message" in r] == ["unhandled exception in the application"]
    # Flask's own "Exception on /boom [GET]" (app.logger, captured here) is not written at all.
    assert not [r for r in service_b.records() if r["_facility"] == "e2e_flask"]
    assert "Exception on /boom" not in service_b.output.read_text(errors="replace")


def test_flask_keeps_werkzeug_page_for_abort_500(service_b: Server) -> None:
    resp = httpx.get(f"{service_b.url}/abort-500", timeout=30)
    assert resp.status_code == 500
    assert "<title>500 Internal Server Error</title>" in resp.text
    txn_id = response_id(resp)
    assert txn_id not in resp.text
    assert service_b.access_record(txn_id)["level"] == ERR
    assert not [r for r in service_b.records() if r.get("_txnId") == txn_id and "full_message" in r]


# -- WSGI under gunicorn: two preloaded workers ------------------------------------------------


def test_gunicorn_workers_make_their_own_ids_and_share_the_log_file(service_b: Server) -> None:
    by_pid: dict[int, list[str]] = {}
    with ThreadPoolExecutor(4) as pool:
        for _ in range(20):  # until both workers have answered (the second may still be booting)
            responses = list(pool.map(lambda _: httpx.get(f"{service_b.url}/slow?s=0.3", timeout=30), range(4)))
            for resp in responses:
                assert resp.status_code == 200
                assert resp.json()["current"] == response_id(resp)
                by_pid.setdefault(resp.json()["pid"], []).append(response_id(resp))
            if len(by_pid) >= 2:
                break
    assert len(by_pid) == 2, by_pid

    ids = [txn_id for ids in by_pid.values() for txn_id in ids]
    assert len(set(ids)) == len(ids)
    tags = {pid: {logmagic.parse_txn_id(t).process_tag for t in ids} for pid, ids in by_pid.items()}
    assert all(len(t) == 1 for t in tags.values()), tags  # one tag per worker process
    assert len(set.union(*tags.values())) == 2, tags  # ... and not the same tag in both (fork)
    done = service_b.wait_for(lambda r: r["short_message"] == "slow request done" and r["_txnId"] in ids, len(ids))
    assert {r["_txnId"] for r in done} == set(ids)


# -- two services: A (ASGI) calls B (WSGI) -----------------------------------------------------


def test_the_id_made_by_a_follows_the_call_to_b(service_a: Server, service_b: Server) -> None:
    resp = httpx.get(f"{service_a.url}/call-b", timeout=30)
    assert resp.status_code == 200
    txn_id = response_id(resp)
    body = resp.json()
    assert body["b_status"] == 200
    assert body["b_response_id"] == txn_id  # B accepted A's id rather than making its own
    assert body["b_body"]["inbound"] == txn_id
    assert body["b_body"]["app_txn_id"] == txn_id

    a_records = service_a.wait_for_txn(txn_id, count=3)
    assert {r["short_message"] for r in a_records} >= {"calling service B", "service B answered", "GET /call-b 200"}
    assert {r["host"] for r in a_records} == {HOST_A}
    b_records = service_b.wait_for_txn(txn_id, count=3)
    assert {r["short_message"] for r in b_records} >= {"plain record in the view", "record with the request"}
    assert {r["host"] for r in b_records} == {HOST_B}
    b_access = service_b.access_record(txn_id)
    assert b_access["short_message"] == "GET /hello 200"
    assert b_access["_user_agent"].startswith("python-httpx/")

    decoded = logmagic_cli("txn", txn_id, "--json")
    assert decoded.returncode == 0, decoded.stderr
    info = json.loads(decoded.stdout)
    assert info["host"] == HOST_A  # where the request entered, though B logged it too
    assert info["version"] == "e2e-1.0"
    assert info["process_tag"] == logmagic.parse_txn_id(txn_id).process_tag
    assert isinstance(info["counter"], int)
    ts_ms = int(txn_id.split(".ts-")[1].split(".")[0])
    assert round(datetime.datetime.fromisoformat(info["time"].replace("Z", "+00:00")).timestamp() * 1000) == ts_ms

    text = logmagic_cli("txn", txn_id)
    assert text.returncode == 0
    assert any(line.split() == ["origin", "host", HOST_A] for line in text.stdout.splitlines()), text.stdout


def test_the_cli_refuses_an_id_logmagic_did_not_make(service_b: Server) -> None:
    resp = httpx.get(f"{service_b.url}/hello", headers={"X-Txn-Id": "not-a-logmagic-id"}, timeout=30)
    assert response_id(resp) == "not-a-logmagic-id"  # carried as an opaque id all the same
    result = logmagic_cli("txn", "not-a-logmagic-id", "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not-a-logmagic-id" in result.stderr


# -- outbound from this process: requests adapter, httpx hook, txn_headers ----------------------


def _requests_adapter(url: str) -> requests.Response:
    with requests.Session() as session:
        session.mount("http://", logmagic.web.requests_adapter())
        return session.get(url, timeout=30)


def _httpx_hook(url: str) -> httpx.Response:
    with httpx.Client(event_hooks={"request": [logmagic.web.httpx_hook]}) as client:
        return client.get(url, timeout=30)


def _txn_headers(url: str) -> httpx.Response:
    return httpx.get(url, headers=logmagic.web.txn_headers(), timeout=30)


CLIENTS = {"requests-adapter": _requests_adapter, "httpx-hook": _httpx_hook, "txn-headers": _txn_headers}


@pytest.mark.parametrize("client", list(CLIENTS))
def test_a_client_in_a_transaction_sends_its_id_to_b(service_b: Server, client: str) -> None:
    with logmagic.transaction() as t:
        resp = CLIENTS[client](f"{service_b.url}/hello")
    assert resp.status_code == 200
    assert response_id(resp) == t
    assert resp.json()["inbound"] == t
    records = service_b.wait_for_txn(t, count=3)
    assert {r["short_message"] for r in records} >= {"plain record in the view", "GET /hello 200"}
    assert all(r["host"] == HOST_B for r in records)


def test_the_requests_adapter_sends_nothing_outside_a_transaction(service_b: Server) -> None:
    assert logmagic.current_txn_id() is None
    resp = _requests_adapter(f"{service_b.url}/hello")
    assert resp.json()["inbound"] is None
    assert logmagic.parse_txn_id(response_id(resp)).host == HOST_B  # B made its own


def test_the_requests_adapter_leaves_an_explicit_header_alone(service_b: Server) -> None:
    with logmagic.transaction(), requests.Session() as session:
        session.mount("http://", logmagic.web.requests_adapter())
        resp = session.get(f"{service_b.url}/hello", headers={"X-Txn-Id": "chosen-by-the-caller"}, timeout=30)
    assert response_id(resp) == "chosen-by-the-caller"
    assert service_b.wait_for(lambda r: is_access(r, "chosen-by-the-caller"))
