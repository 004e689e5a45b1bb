"""``logmagic.web.django.TransactionMiddleware`` end to end: a Django project under real servers.

The project (``tests/e2e/apps/djproject``) is set up as docs/web.md says: the middleware first
in ``MIDDLEWARE``, its options in ``LOGMAGIC_MIDDLEWARE``, Django's own handlers left out in
``LOGGING`` and ``logging`` captured in ``AppConfig.ready()``; its ``wsgi.py`` and ``asgi.py``
are Django's, with nothing of logmagic. It runs under gunicorn (WSGI), uvicorn (Django's ASGI
handler, the middleware in async mode), ``runserver`` with ``DEBUG = True``, and Django's test
``Client`` and ``AsyncClient`` in a process of their own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import logmagic

from .servers import APPS, Record, Server, free_port, gunicorn, launch, read_gelf, server_env, uvicorn

HOST = "django.local"
AGENT = "logmagic-e2e/1.0"
ACCESS = "logmagic.access"
ERROR = "unhandled exception in the application"
INFO, WARNING, ERR = 6, 4, 3  # GELF (syslog) levels

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("django")


@pytest.fixture(scope="module")
def gunicorn_server(workdir: Path) -> Iterator[Server]:
    server = gunicorn("django-gunicorn", "djproject.wsgi:application", workdir, HOST, workers=1)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def uvicorn_server(workdir: Path) -> Iterator[Server]:
    server = uvicorn("django-uvicorn", "djproject.asgi:application", workdir, HOST, args=["--lifespan", "off"])
    yield server
    server.stop()


@pytest.fixture(params=["gunicorn", "uvicorn"])
def server(request: pytest.FixtureRequest) -> Server:
    """Each check runs under gunicorn (WSGI, sync) and uvicorn (ASGI, async)."""
    found: Server = request.getfixturevalue(f"{request.param}_server")
    return found


@pytest.fixture(scope="module")
def runserver(workdir: Path) -> Iterator[Server]:
    """``manage.py runserver`` with ``DEBUG = True``; logmagic writes GELF to its stderr, kept in ``Server.log``."""
    port = free_port()
    log = workdir / "django-runserver.err"
    env = server_env(HOST, log, DJANGO_SETTINGS_MODULE="djproject.settings", DJANGO_DEBUG="1")
    del env["LOGMAGIC_SINKS"]
    env["LOGMAGIC_ROUTES"] = "__root__=DEBUG:graylog2-stderr"
    argv = [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"]
    server = launch("django-runserver", argv, port, workdir, env, log, stderr_is_log=True)
    yield server
    server.stop()


def get(server: Server, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", headers={"User-Agent": AGENT, **headers}, timeout=30)


def response_id(resp: httpx.Response) -> str:
    txn_id: str | None = resp.headers.get("X-Response-Id")
    assert txn_id, f"no X-Response-Id on {resp.status_code} {resp.headers}"
    return txn_id


def one(records: list[Record], message: str) -> Record:
    found = [r for r in records if r["short_message"] == message]
    assert len(found) == 1, (message, records)
    return found[0]


def tracebacks(server: Server, txn_id: str) -> list[Record]:
    """Every record of the request that carries a traceback."""
    return [r for r in server.records() if r.get("_txnId") == txn_id and "full_message" in r]


# -- gunicorn and uvicorn ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/hello", "/ahello"], ids=["sync-view", "async-view"])
def test_a_request_gets_an_id_current_in_the_view_and_on_every_record(server: Server, path: str) -> None:
    first, second = get(server, path), get(server, path)
    assert first.status_code == second.status_code == 200
    txn_id = response_id(first)
    assert response_id(second) != txn_id
    assert logmagic.parse_txn_id(txn_id).host == HOST
    body = first.json()
    assert body["app_txn_id"] == txn_id  # request.META["logmagic.txn_id"]
    assert body["current"] == txn_id  # logmagic.current_txn_id() in the view

    records = server.wait_for_txn(txn_id, count=2)
    view = one(records, "django view" if path == "/hello" else "async django view")
    assert view["_facility"] == "e2e.django"
    assert (view["_method"], view["_path"], view["_remote_addr"], view["_user_agent"]) == (
        "GET",
        path,
        "127.0.0.1",
        AGENT,
    )
    access = server.access_record(txn_id)
    assert access["short_message"] == f"GET {path} 200"
    assert access["level"] == INFO
    assert access["_status"] == 200
    assert access["_bytes"] == len(first.content)
    assert access["_user_agent"] == AGENT
    assert isinstance(access["_duration_ms"], (int, float)) and access["_duration_ms"] >= 0


def test_a_valid_inbound_id_is_used_from_either_configured_header(server: Server) -> None:
    resp = get(server, "/hello", **{"X-Txn-Id": "upstream-7f3a:zone/1"})
    assert response_id(resp) == resp.json()["current"] == "upstream-7f3a:zone/1"
    # LOGMAGIC_MIDDLEWARE = {"inbound_headers": ["X-Txn-Id", "X-Request-Id"]}
    resp = get(server, "/hello", **{"X-Request-Id": "from-the-load-balancer"})
    assert response_id(resp) == resp.json()["current"] == "from-the-load-balancer"
    assert one(server.wait_for_txn("from-the-load-balancer", count=2), "django view")["_path"] == "/hello"


def test_an_invalid_inbound_id_is_replaced_and_the_replacement_logged(server: Server) -> None:
    resp = get(server, "/hello", **{"X-Txn-Id": "has spaces; and <script>"})
    txn_id = response_id(resp)
    assert logmagic.parse_txn_id(txn_id).host == HOST
    warning = one(server.wait_for_txn(txn_id, count=3), "replaced an invalid inbound transaction id")
    assert warning["level"] == WARNING
    assert warning["_inbound"] == "has spaces; and <script>"


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/boom", "RuntimeError: kaboom from the django view"),
        ("/aboom", "RuntimeError: kaboom from the async django view"),
        ("/mw-boom", "LookupError: kaboom from a middleware"),
    ],
    ids=["view", "async-view", "middleware"],
)
@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_an_unhandled_exception_is_written_once_and_the_500_carries_the_id(
    server: Server, path: str, error: str, accept: str
) -> None:
    resp = get(server, path, Accept=accept)
    assert resp.status_code == 500
    txn_id = response_id(resp)
    if accept == "application/json":
        assert resp.json() == {"error": "Internal Server Error", "txnId": txn_id}
    else:
        assert resp.headers["content-type"].startswith("text/plain")
        assert resp.text == f"Internal Server Error\nReference: {txn_id}\n"

    access = server.access_record(txn_id)  # written last: every other record is in the file
    assert (access["short_message"], access["level"], access["_status"]) == (f"GET {path} 500", ERR, 500)
    assert access["_bytes"] == len(resp.content)
    [record] = tracebacks(server, txn_id)  # Django's own django.request record of it is not written again
    assert record["short_message"] == ERROR
    assert record["_facility"] == ACCESS
    assert record["level"] == ERR
    assert record["_path"] == path
    assert "Traceback (most recent call last)" in record["full_message"]
    assert error in record["full_message"]
    assert not [r for r in server.records() if r.get("_txnId") == txn_id and r["_facility"] == "django.request"]


def test_a_500_the_view_returns_on_purpose_goes_out_unchanged(server: Server) -> None:
    resp = get(server, "/deliberate-500", Accept="application/json")
    assert resp.status_code == 500
    assert resp.text == "the view chose this 500"
    txn_id = response_id(resp)
    assert server.access_record(txn_id)["level"] == ERR
    assert not [r for r in server.records() if r.get("_txnId") == txn_id and r["short_message"] == ERROR]


def test_a_404_is_a_warning_access_record(server: Server) -> None:
    resp = get(server, "/no/such/page")
    assert resp.status_code == 404
    access = server.access_record(response_id(resp))
    assert (access["short_message"], access["level"], access["_status"]) == ("GET /no/such/page 404", WARNING, 404)


@pytest.mark.parametrize("path", ["/stream", "/astream"], ids=["sync-iterator", "async-iterator"])
def test_a_streamed_body_is_produced_inside_the_transaction_and_counted(server: Server, path: str) -> None:
    resp = get(server, path)
    assert resp.status_code == 200
    txn_id = response_id(resp)
    assert resp.text.splitlines() == [f"{i}:{txn_id}" for i in range(5)]
    chunks = server.wait_for(lambda r: r["short_message"] == "django chunk" and r.get("_txnId") == txn_id, count=5)
    assert sorted(r["_chunk"] for r in chunks) == list(range(5))
    access = server.access_record(txn_id)
    assert access["_bytes"] == len(resp.content)


def test_a_file_the_server_sends_itself_is_counted_by_its_length(server: Server) -> None:
    resp = get(server, "/file")
    assert resp.status_code == 200
    assert resp.content == (APPS / "djproject" / "urls.py").read_bytes()
    access = server.access_record(response_id(resp))
    assert (access["_status"], access["_bytes"]) == (200, len(resp.content))


def test_an_exception_in_a_streamed_body_is_written_and_the_request_marked_aborted(server: Server) -> None:
    with httpx.stream("GET", f"{server.url}/stream-fail", timeout=30) as resp:
        assert resp.status_code == 200
        txn_id = response_id(resp)
        try:
            resp.read()
        except httpx.HTTPError:
            pass  # the server closes the connection mid-body
    access = server.access_record(txn_id)
    assert access["level"] == ERR
    assert access["_aborted"] is True
    error = one(
        server.wait_for_txn(txn_id, count=2), "unhandled exception after the response started; the connection is closed"
    )
    assert "RuntimeError: the stream broke" in error["full_message"]


# -- runserver with DEBUG = True ---------------------------------------------------------------


def stderr(server: Server) -> tuple[list[Record], list[str]]:
    """The GELF records on the server's stderr, and its other lines."""
    records, other = [], []
    for line in server.log.read_bytes().split(b"\n")[:-1]:
        try:
            records.append(json.loads(line))
        except ValueError:
            other.append(line.decode("utf-8", "replace"))
    return records, other


def test_runserver_access_line_is_captured_with_the_id(runserver: Server) -> None:
    resp = get(runserver, "/hello")
    txn_id = response_id(resp)
    line = runserver.wait_for(lambda r: r["_facility"] == "django.server" and r.get("_txnId") == txn_id)
    assert len(line) == 1
    assert line[0]["short_message"] == f'"GET /hello HTTP/1.1" 200 {len(resp.content)}'
    assert line[0]["_status_code"] == 200
    assert line[0]["level"] == INFO
    assert "_request" not in line[0]  # runserver passes its socket as "request"
    assert "_server_time" not in line[0]
    assert runserver.access_record(txn_id)["_status"] == 200
    records, other = stderr(runserver)
    assert other == []  # nothing in Django's own formats
    assert not [r for r in records if r["_facility"] == "django.server" and "_txnId" not in r]


def test_debug_keeps_djangos_debug_page_with_the_id_in_the_header(runserver: Server) -> None:
    resp = get(runserver, "/boom", Accept="text/html")
    assert resp.status_code == 500
    txn_id = response_id(resp)
    assert resp.headers["content-type"].startswith("text/html")
    assert "kaboom from the django view" in resp.text
    assert "DEBUG = True" in resp.text  # Django's technical 500 page
    server_line = runserver.wait_for(lambda r: r["_facility"] == "django.server" and r.get("_txnId") == txn_id)
    assert server_line[0]["level"] == ERR
    runserver.access_record(txn_id)
    [record] = tracebacks(runserver, txn_id)
    assert record["short_message"] == ERROR
    assert "RuntimeError: kaboom from the django view" in record["full_message"]


# -- Django's test Client and AsyncClient ------------------------------------------------------


@pytest.fixture(scope="module")
def client_run(workdir: Path) -> tuple[dict[str, dict[str, Any]], list[Record]]:
    """``python -m djproject.client_run``: its checks by name, and the records it wrote."""
    log = workdir / "django-client.log"
    env = server_env(HOST, log)
    done = subprocess.run(
        [sys.executable, "-m", "djproject.client_run"], env=env, cwd=APPS, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    checks: dict[str, list[dict[str, Any]]] = {}
    for line in done.stdout.splitlines():
        check = json.loads(line)
        checks.setdefault(check.pop("check"), []).append(check)
    return {k: v[0] if len(v) == 1 else {"all": v} for k, v in checks.items()}, read_gelf(log)


def txn_records(records: list[Record], txn_id: str) -> list[Record]:
    return [r for r in records if r.get("_txnId") == txn_id]


def test_the_test_client_goes_through_the_middleware(client_run: tuple[dict[str, Any], list[Record]]) -> None:
    checks, records = client_run
    hello = checks["hello"]
    assert hello["status"] == 200
    assert json.loads(hello["body"])["current"] == hello["txn_id"]
    assert logmagic.parse_txn_id(hello["txn_id"]).host == HOST
    mine = txn_records(records, hello["txn_id"])
    assert {r["short_message"] for r in mine} == {"django view", "GET /hello 200"}
    assert checks["inbound"]["txn_id"] == "upstream-7f3a"

    stream = checks["stream"]
    assert stream["body"].splitlines() == [f"{i}:{stream['txn_id']}" for i in range(5)]
    assert one(txn_records(records, stream["txn_id"]), "GET /stream 200")["_bytes"] == len(stream["body"])
    assert checks["after"]["current"] is None  # nothing left current in the test


def test_the_test_client_gets_the_500_page_and_still_raises(client_run: tuple[dict[str, Any], list[Record]]) -> None:
    checks, records = client_run
    boom = checks["boom"]
    assert boom["status"] == 500
    assert json.loads(boom["body"]) == {"error": "Internal Server Error", "txnId": boom["txn_id"]}
    [error] = [r for r in txn_records(records, boom["txn_id"]) if "full_message" in r]
    assert error["short_message"] == ERROR
    # raise_request_exception=True (the default) re-raises the view's exception in the test
    assert checks["boom-raised"] == {"error": "kaboom from the django view"}


def test_debug_propagate_exceptions_lets_the_exception_through_after_the_record(
    client_run: tuple[dict[str, Any], list[Record]],
) -> None:
    checks, records = client_run
    assert checks["propagated"] == {"error": "kaboom from the django view"}
    mine = txn_records(records, "propagated-1")
    assert len([r for r in mine if "full_message" in r]) == 1
    access = one(mine, "GET /boom 500")
    assert access["level"] == ERR


def test_the_async_client_goes_through_the_middleware_in_async_mode(
    client_run: tuple[dict[str, Any], list[Record]],
) -> None:
    checks, records = client_run
    hello = checks["async-hello"]
    assert json.loads(hello["body"])["current"] == hello["txn_id"]
    assert {r["short_message"] for r in txn_records(records, hello["txn_id"])} == {
        "async django view",
        "GET /ahello 200",
    }
    stream = checks["async-stream"]
    assert stream["body"].splitlines() == [f"{i}:{stream['txn_id']}" for i in range(5)]
    assert len([r for r in txn_records(records, stream["txn_id"]) if r["short_message"] == "django chunk"]) == 5
    assert checks["async-after"]["current"] is None


def test_under_the_wsgi_middleware_too_one_id_and_one_access_record(
    client_run: tuple[dict[str, Any], list[Record]],
) -> None:
    checks, records = client_run
    hello = checks["wrapped/hello"]
    [txn_id] = hello["txn_ids"]  # one X-Response-Id
    assert json.loads(hello["body"])["current"] == txn_id
    assert len([r for r in txn_records(records, txn_id) if r["_facility"] == ACCESS]) == 1

    boom = checks["wrapped/boom"]
    [txn_id] = boom["txn_ids"]
    assert boom["status"] == "500 Internal Server Error"
    assert json.loads(boom["body"]) == {"error": "Internal Server Error", "txnId": txn_id}
    mine = txn_records(records, txn_id)
    assert [r["short_message"] for r in mine if "full_message" in r] == [ERROR]
    assert [r["short_message"] for r in mine if r["_facility"] == ACCESS and "_status" in r] == ["GET /boom 500"]


def test_a_wrong_setting_is_improperly_configured(client_run: tuple[dict[str, Any], list[Record]]) -> None:
    checks, _ = client_run
    misspelt, bad_header, not_a_dict = (c["error"] for c in checks["bad-setting"]["all"])
    assert misspelt.startswith("LOGMAGIC_MIDDLEWARE: unknown option inbound_header; the options are inbound_headers, ")
    assert bad_header.startswith("LOGMAGIC_MIDDLEWARE: inbound_headers must be ")
    assert bad_header.endswith("got 'bad header'")
    assert not_a_dict == "LOGMAGIC_MIDDLEWARE must be a dict of options, got list"
