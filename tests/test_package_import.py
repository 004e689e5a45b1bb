"""``import logmagic`` loads nothing but the package: no thread, no hook, no line on stderr.

The public API (``logmagic.api``) loads on the first use of one of its names; the host tools,
which import ``logmagic.<submodule>``, never load it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import atexit, json, sys, threading
import logmagic
before = {"modules": sorted(m for m in sys.modules if m.startswith("logmagic")),
          "threads": threading.active_count(), "atexit": atexit._ncallbacks()}
logmagic.local("app").warning("first use")
after = {"modules": len([m for m in sys.modules if m.startswith("logmagic")]), "atexit": atexit._ncallbacks()}
print(json.dumps({"before": before, "after": after}))
"""


def test_import_logmagic_starts_nothing_and_writes_nothing_until_first_use() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    env["LOGMAGIC_ROUTES"] = "malformed"  # read at first use: then, and only then, one complaint
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["before"] == {"modules": ["logmagic"], "threads": 1, "atexit": 0}
    assert seen["after"]["modules"] > 10 and seen["after"]["atexit"] >= 1  # the runtime, with its exit flush
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and "LOGMAGIC_ROUTES" in lines[0] and "first use" in lines[1]


def test_every_public_name_resolves_and_unknown_names_raise() -> None:
    import logmagic
    from logmagic import api

    # The lazy names and those type checkers import from the API are the same.
    assert set(logmagic.__all__) == {*api.__all__, "web"}
    for name in logmagic.__all__:
        assert getattr(logmagic, name) is not None
    assert set(logmagic.__all__) <= set(dir(logmagic))
    try:
        logmagic.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")


WEB_ONLY = """
import wsgiref.util
from logmagic.web import WSGIMiddleware

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]

environ = {}
wsgiref.util.setup_testing_defaults(environ)
body = WSGIMiddleware(app)(environ, lambda status, headers, exc_info=None: None)
b"".join(body)
body.close()
"""


def test_the_middleware_alone_brings_the_runtime_it_logs_through() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    done = subprocess.run([sys.executable, "-c", WEB_ONLY], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    [access] = [json.loads(line) for line in done.stderr.splitlines()]
    assert (access["short_message"], access["_facility"]) == ("GET / 200", "logmagic.access")
