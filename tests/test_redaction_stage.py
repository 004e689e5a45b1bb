"""Redaction is one stage of the pipeline: no sink of any kind receives a secret.

One route sends every record to every kind of sink at once: GELF on stderr, files in each
format, the ``stdlib`` sink, a ``Sink`` object, a plain function and a network sink's queue.
Each call path (a level method, an ``f`` variant, ``exception``, a trace level, ``forward``,
``log``) logs a password, an ``Authorization`` header, a ``Cookie`` and a ``Set-Cookie``
value; none of them may reach any sink.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import logmagic
from logmagic.record import Record
from logmagic.sinks.queued import QueuedSink

from .conftest import Collect, ListSink

SECRETS = ("hunter2", "Bearer abc123", "sid=s3cr3t", "sid=c00kie")


def secret_fields() -> dict[str, Any]:
    return {
        "password": "hunter2",
        "headers": {"Authorization": "Bearer abc123", "Cookie": "sid=s3cr3t", "accept": "*/*"},
        "response": {"Set-Cookie": "sid=c00kie", "status": 200},
    }


class Lines(QueuedSink):
    """A network sink whose destination is a list: the real queue and worker, no socket."""

    def __init__(self) -> None:
        super().__init__(batch_age=0.01)
        self.lines: list[bytes] = []

    def deliver(self, batch: list[bytes]) -> None:
        self.lines.extend(batch)


@pytest.fixture
def handler() -> Iterator[Collect]:
    root = logging.getLogger()
    collect = Collect()
    root.addHandler(collect)
    level = root.level
    root.setLevel(logging.DEBUG)
    yield collect
    root.removeHandler(collect)
    root.setLevel(level)


def log_every_way(log: logmagic.LocalLogger) -> None:
    log.info("plain", secret_fields())
    log.infof("templated ${password} ${headers.Authorization}", secret_fields())
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", secret_fields())
    log.trace2("deep", secret_fields())
    log.forward(logmagic.WARNING, "forwarded", secret_fields())
    log.log("NOTICE", "by name", secret_fields(), **{"api_key": "k"})


def test_no_sink_of_any_kind_receives_a_secret(
    tmp_path: Path, handler: Collect, capfd: pytest.CaptureFixture[str]
) -> None:
    objects, calls, net = ListSink(), [], Lines()
    logmagic.register_sink("objects", objects)
    logmagic.register_sink("calls", lambda facility, level, msg, fields: calls.append((msg, fields)))
    logmagic.register_sink("net", net)
    files = {fmt: tmp_path / f"app.{fmt}" for fmt in ("gelf", "json", "console")}
    for fmt, path in files.items():
        logmagic.register_sink(f"file-{fmt}", f"file://{path}?format={fmt}")
    sinks = ["graylog2-stderr", "stdlib", "objects", "calls", "net", *(f"file-{fmt}" for fmt in files)]
    logmagic.route("__root__", logmagic.TRACE8, sinks)

    log_every_way(logmagic.local("app.api"))
    assert net.flush(5.0)

    received = {
        "stderr": capfd.readouterr().err,
        "stdlib": repr([r.__dict__ for r in handler.records]),
        "objects": repr([(r.msg, r.fields) for r in objects.records]),
        "calls": repr(calls),
        "net": b"".join(net.lines).decode(),
        **{fmt: path.read_text() for fmt, path in files.items()},
    }
    assert len(objects.records) == 6 and len(handler.records) == 6 and len(net.lines) == 6
    for sink, text in received.items():
        assert "[REDACTED]" in text, sink
        for secret in SECRETS:
            assert secret not in text, (sink, secret)
    assert "accept" in received["objects"] and "*/*" in received["objects"]  # only secrets go


@pytest.mark.parametrize("spec", ["graylog2-stderr", "file://{tmp}/one.log"])
def test_the_direct_gelf_path_writes_no_secret(spec: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    logmagic.register_sink("one", spec.format(tmp=tmp_path))
    logmagic.route("__root__", logmagic.DEBUG, "one")
    log = logmagic.local("app.api")
    for _ in range(3):  # the second and later calls find every harmless name cached
        log.info("flat", password="hunter2", authorization="Bearer abc123", cookie="sid=s3cr3t", n=1)
        log.info("nested", secret_fields())
    text = capfd.readouterr().err if spec == "graylog2-stderr" else (tmp_path / "one.log").read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 6 and all(line["_password"] == "[REDACTED]" for line in lines)
    for secret in SECRETS:
        assert secret not in text


def test_a_sink_is_handed_the_redacted_record_not_the_callers_fields(sink: ListSink) -> None:
    fields = secret_fields()
    logmagic.local("app").info("x", fields)
    assert fields == secret_fields()  # the caller's mapping is untouched
    [rec] = sink.records
    assert isinstance(rec, Record) and rec.fields["password"] == "[REDACTED]"
    assert rec.fields["headers"] == {"Authorization": "[REDACTED]", "Cookie": "[REDACTED]", "accept": "*/*"}
