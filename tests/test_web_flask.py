"""``logmagic.web.flask.init_app`` in process, through Flask's own test client.

What gunicorn serves is checked end to end in tests/e2e/test_web_servers.py (service B); here
are the cases a server does not reach on demand: testing and debug mode, a 500 handler of the
app's own, a subclass's ``log_exception``, a second ``init_app``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from types import TracebackType

import pytest
from flask import Flask, abort, request
from werkzeug.exceptions import InternalServerError

import logmagic
import logmagic.web.flask
from logmagic.integrations import stdlib
from logmagic.record import Record

from .conftest import ListSink

ERROR = "unhandled exception in the application"


def make_app(app: Flask | None = None, **config: object) -> Flask:
    app = app or Flask("flask_tests")
    app.config.update(config)

    @app.get("/hello")
    def hello() -> dict[str, str | None]:
        return {"current": logmagic.current_txn_id()}

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("kaboom from the view")

    @app.get("/abort")
    def abort_500() -> str:
        abort(500)

    return app


def with_traceback(sink: ListSink) -> list[Record]:
    return [r for r in sink.records if r.full_message is not None]


def access(sink: ListSink) -> list[Record]:
    return [r for r in sink.records if r.facility == "logmagic.access" and "status" in r.fields]


def test_the_test_client_goes_through_the_middleware(sink: ListSink) -> None:
    app = make_app()
    logmagic.web.flask.init_app(app)
    with app.test_client() as client, client.get("/hello", headers={"X-Txn-Id": "upstream-1"}) as resp:
        assert resp.headers["X-Response-Id"] == "upstream-1"
        assert resp.json == {"current": "upstream-1"}
    assert [(r.msg, r.fields["txnId"]) for r in access(sink)] == [("GET /hello 200", "upstream-1")]


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_an_unhandled_exception_is_written_once_and_the_500_carries_the_id(sink: ListSink, accept: str) -> None:
    stdlib.capture()  # a record of Flask's own logger would arrive in the sink too
    app = make_app()
    logmagic.web.flask.init_app(app)
    with app.test_client() as client, client.get("/boom", headers={"Accept": accept}) as resp:
        assert resp.status_code == 500
        txn_id = resp.headers["X-Response-Id"]
        if accept == "application/json":
            assert resp.json == {"error": "Internal Server Error", "txnId": txn_id}
        else:
            assert resp.text == f"Internal Server Error\nReference: {txn_id}\n"
    [error] = with_traceback(sink)
    assert (error.facility, error.level, error.msg) == ("logmagic.access", logmagic.ERR, ERROR)
    assert error.fields["txnId"] == txn_id
    assert error.fields["path"] == "/boom"
    assert error.full_message is not None and "RuntimeError: kaboom from the view" in error.full_message
    assert not [r for r in sink.records if r.facility == "flask_tests"]  # Flask's "Exception on /boom [GET]"
    [(msg, level)] = [(r.msg, r.level) for r in access(sink)]
    assert (msg, level) == ("GET /boom 500", logmagic.ERR)


def test_abort_500_keeps_werkzeugs_page(sink: ListSink) -> None:
    app = make_app()
    logmagic.web.flask.init_app(app)
    with app.test_client() as client, client.get("/abort") as resp:
        assert resp.status_code == 500
        assert "<title>500 Internal Server Error</title>" in resp.text
        assert resp.headers["X-Response-Id"] not in resp.text
    assert with_traceback(sink) == []


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_500_handler_of_the_apps_own_wins(sink: ListSink, when: str) -> None:
    app = make_app()

    def mine(error: InternalServerError) -> tuple[str, int]:
        return f"our own page, reference {request.environ['logmagic.txn_id']}", 500

    if when == "before":
        app.register_error_handler(500, mine)
    logmagic.web.flask.init_app(app)
    if when == "after":
        app.register_error_handler(500, mine)
    with app.test_client() as client, client.get("/boom") as resp:
        assert resp.text == f"our own page, reference {resp.headers['X-Response-Id']}"
    assert [r.msg for r in with_traceback(sink)] == [ERROR]


@pytest.mark.parametrize("mode", ["TESTING", "DEBUG"])
def test_in_testing_and_debug_mode_the_exception_is_raised_again_after_the_records(sink: ListSink, mode: str) -> None:
    app = make_app(**{mode: True})
    logmagic.web.flask.init_app(app)
    with pytest.raises(RuntimeError, match="kaboom from the view"):
        app.test_client().get("/boom")  # Flask's own behaviour: the test (or the debugger) sees it
    [error] = with_traceback(sink)
    assert error.msg == ERROR
    [(msg, txn_id)] = [(r.msg, r.fields["txnId"]) for r in access(sink)]
    assert msg == "GET /boom 500"
    assert error.fields["txnId"] == txn_id


def test_propagate_exceptions_set_by_the_app_gives_the_middlewares_page(sink: ListSink) -> None:
    app = make_app(TESTING=True, PROPAGATE_EXCEPTIONS=True)
    logmagic.web.flask.init_app(app)
    with app.test_client() as client, client.get("/boom", headers={"Accept": "application/json"}) as resp:
        assert resp.json == {"error": "Internal Server Error", "txnId": resp.headers["X-Response-Id"]}
    assert [r.msg for r in with_traceback(sink)] == [ERROR]


def test_a_subclass_log_exception_is_still_called(sink: ListSink) -> None:
    seen: list[BaseException | None] = []

    class MyFlask(Flask):
        def log_exception(self, exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None]) -> None:
            seen.append(exc_info[1])

    app = make_app(MyFlask("flask_tests"))
    logmagic.web.flask.init_app(app)
    with app.test_client() as client, client.get("/boom") as resp:
        assert resp.status_code == 500
    assert [str(e) for e in seen] == ["kaboom from the view"]
    assert [r.msg for r in with_traceback(sink)] == [ERROR]


def test_the_options_reach_the_middleware(sink: ListSink) -> None:
    app = make_app()
    mw = logmagic.web.flask.init_app(app, inbound_headers=["X-Request-Id"], facility="myapp.access")
    assert app.extensions[logmagic.web.flask.EXTENSION] is mw
    with app.test_client() as client, client.get("/hello", headers={"X-Request-Id": "lb-7"}) as resp:
        assert resp.headers["X-Response-Id"] == "lb-7"
    assert [r.facility for r in sink.records] == ["myapp.access"]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda app: logmagic.web.flask.init_app(app), RuntimeError, "already called for this app"),
        (lambda app: logmagic.web.flask.init_app(app.wsgi_app), TypeError, "needs a Flask app, got _Reraise"),
        (lambda app: logmagic.web.flask.init_app(make_app(), no_such_option=1), TypeError, "no_such_option"),
    ],
    ids=["twice", "not-an-app", "unknown-option"],
)
def test_wrong_calls_say_what_is_wrong(call: Callable[[Flask], object], error: type[Exception], message: str) -> None:
    app = make_app()
    logmagic.web.flask.init_app(app)
    with pytest.raises(error, match=message):
        call(app)


def test_importing_logmagic_web_imports_no_framework() -> None:
    probe = "import sys, json, logmagic.web; print(json.dumps(sorted({'flask', 'django'} & set(sys.modules))))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
