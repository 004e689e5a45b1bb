"""configure(), the environment variables and the defaults, including in a fresh process."""

from __future__ import annotations

import gc
import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import logmagic
from logmagic._identity import IDENTITY

from .conftest import ListSink, drain_pty, open_here
from .diagnostics import diagnostics, records

CHILD = """
import logmagic
logmagic.configure()  # applies the environment again: a bad value is still reported once
logmagic.configure()
log = logmagic.local("child.app")
log.info("hello", n=1)
log.debug("hidden")
"""


def run_child(env_extra: dict[str, str], stderr: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", CHILD], env=env, stderr=stderr, stdout=subprocess.PIPE, timeout=60)


def test_default_without_a_terminal_is_gelf_on_stderr_from_info_up() -> None:
    proc = run_child({})
    assert proc.returncode == 0
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert (rec["short_message"], rec["level"], rec["_facility"], rec["_n"]) == ("hello", 6, "child.app", 1)


def test_default_on_a_terminal_is_the_console() -> None:
    main, replica = pty.openpty()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
        env["NO_COLOR"] = "1"
        proc = subprocess.run([sys.executable, "-c", CHILD], env=env, stderr=replica, timeout=60)
    finally:
        os.close(replica)
        out = drain_pty(main)
    assert proc.returncode == 0
    text = out.decode()
    assert "INFO  child.app  hello  n=1" in text
    assert "{" not in text and "\x1b[" not in text


def test_env_routes_and_sinks_configure_a_process_without_code(tmp_path: Path) -> None:
    target = tmp_path / "app.jsonl"
    proc = run_child(
        {
            "LOGMAGIC_SINKS": f"main=file://{target}?format=json",
            "LOGMAGIC_ROUTES": "__root__=INFO:graylog2-stderr; child=DEBUG:main",
        }
    )
    assert proc.returncode == 0 and proc.stderr == b""
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(r["message"], r["level_name"]) for r in records] == [("hello", "INFO"), ("hidden", "DEBUG")]


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"LOGMAGIC_ROUTES": "__root__INFO"}, "LOGMAGIC_ROUTES"),
        ({"LOGMAGIC_ROUTES": "__root__=LOUD:console"}, "unknown log level"),
        ({"LOGMAGIC_ROUTES": "__root__=INFO:nosuch"}, "unknown sink 'nosuch'"),
        ({"LOGMAGIC_SINKS": "bad"}, "LOGMAGIC_SINKS"),
        ({"LOGMAGIC_SINKS": "x=ftp://nowhere"}, "unknown sink spec"),
    ],
)
def test_a_malformed_env_value_is_one_line_and_the_defaults_apply(env: dict[str, str], complaint: str) -> None:
    proc = run_child(env)
    assert proc.returncode == 0
    complaints = diagnostics(proc.stderr)
    assert len(complaints) == 1 and complaint in complaints[0]
    assert [r["short_message"] for r in records(proc.stderr)] == ["hello"]


def test_configure_sets_everything_in_one_call(sink: ListSink, tmp_path: Path) -> None:
    logmagic.configure(
        routes="__root__=INFO:list;svc.db=DEBUG:main",
        sinks={"main": f"file://{tmp_path}/db.log"},
        host="product-api0",
        version="062c3d0",
    )
    logmagic.local("svc.db").debug("q")
    logmagic.local("svc.api").debug("hidden")
    logmagic.local("svc.api").info("shown")
    assert [r.msg for r in sink.records] == ["shown"]
    line = json.loads((tmp_path / "db.log").read_text())
    assert (line["host"], line["short_message"]) == ("product-api0", "q")
    assert IDENTITY.version == "062c3d0"


def test_configure_accepts_mappings_and_tuples(sink: ListSink) -> None:
    logmagic.configure(routes={"__root__": ("WARN", ["list"])})
    assert [(r.pattern, r.level, r.sinks) for r in logmagic.config.routes()] == [("__root__", 4, ("list",))]
    logmagic.configure(routes=[("__root__", 3, "list"), ("a.*", "debug", [])])
    assert [(r.pattern, r.level, r.sinks) for r in logmagic.config.routes()] == [
        ("__root__", 3, ("list",)),
        ("a.*", 7, ()),
    ]


def test_a_failing_configure_changes_nothing(sink: ListSink) -> None:
    with pytest.raises(ValueError, match="unknown sink"):
        logmagic.configure(routes="__root__=DEBUG:nosuch", host="changed")
    with pytest.raises(ValueError, match="does not exist"):
        logmagic.configure(sinks={"f": "file:///no/such/dir/x.log"})
    assert IDENTITY.host != "changed"
    logmagic.local("x").info("still")
    assert len(sink.records) == 1


def test_env_overrides_code(sink: ListSink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGMAGIC_ROUTES", "__root__=ERR:list")
    logmagic.configure(routes="__root__=DEBUG:list")
    log = logmagic.local("x")
    log.info("hidden")
    log.err("shown")
    assert [r.msg for r in sink.records] == ["shown"]
    logmagic.configure(routes="__root__=DEBUG:list", env=False)
    log.info("now shown")
    assert [r.msg for r in sink.records] == ["shown", "now shown"]


def test_configure_replaces_the_rewriter_chain(sink: ListSink) -> None:
    logmagic.add_rewriter(lambda f, lvl, m, fields: {**fields, "old": 1})
    logmagic.configure(rewriters=[lambda f, lvl, m, fields: {**fields, "new": 1}])
    logmagic.local("x").info("m")
    assert sink.fields == [{"new": 1}]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("file://relative/x.log", "absolute path"),
        ("file:///tmp/", "no file name"),
        ("file:///tmp/x.log?format=xml", "format must be"),
        ("file:///tmp/x.log?colour=1", "unknown option"),
        ("graylog3-stderr", "unknown sink spec"),
    ],
)
def test_bad_sink_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        logmagic.register_sink("bad", spec)


@pytest.mark.parametrize("name", ["", "a;b", "a=b", 3])
def test_bad_sink_names_are_rejected(name: object) -> None:
    with pytest.raises(ValueError, match="sink name"):
        logmagic.register_sink(name, "console")  # type: ignore[arg-type]


def test_reregistering_a_name_closes_the_old_sink_and_reroutes(tmp_path: Path) -> None:
    logmagic.register_sink("f", f"file://{tmp_path}/one.log")
    logmagic.route("__root__", logmagic.INFO, "f")
    old = logmagic.config.sinks()["f"]
    logmagic.local("x").info("first")
    logmagic.register_sink("f", f"file://{tmp_path}/two.log")
    logmagic.local("x").info("second")
    del old
    gc.collect()
    assert not open_here(tmp_path / "one.log")  # the replaced sink let go of its file
    assert "first" in (tmp_path / "one.log").read_text() and "second" not in (tmp_path / "one.log").read_text()
    assert "second" in (tmp_path / "two.log").read_text()


def test_flush_reports_false_when_a_user_sink_cannot_flush(capfd: pytest.CaptureFixture[str]) -> None:
    class Stuck(logmagic.Sink):
        def emit(self, record: logmagic.Record) -> None:
            pass

        def flush(self, timeout: float | None = None) -> bool:
            raise OSError("collector unreachable")

    logmagic.register_sink("stuck", Stuck())
    logmagic.route("__root__", logmagic.INFO, "stuck")
    assert logmagic.flush(1.0) is False
    assert logmagic.stats()["stuck"]["errors"] == 1
    assert "collector unreachable" in capfd.readouterr().err


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_a_failing_configure_leaves_no_file_open(tmp_path: Path) -> None:
    before = open_fds()
    with pytest.raises(ValueError, match="nosuch"):
        logmagic.configure(routes="__root__=INFO:main,nosuch", sinks={"main": f"file://{tmp_path}/a.log"})
    with pytest.raises(ValueError, match="defined twice"):
        logmagic.configure(sinks=f"a=file://{tmp_path}/b.log;a=file://{tmp_path}/c.log")
    with pytest.raises(ValueError, match="unknown sink spec"):
        logmagic.configure(sinks={"ok": f"file://{tmp_path}/d.log", "bad": "udp://x"})
    assert open_fds() - before == set()
    assert "main" not in logmagic.config.sinks()


class _ClearsWhileWatched(dict):  # type: ignore[type-arg]
    """The sink registry, which makes a new logger from another thread the moment it is cleared."""

    def __init__(self, inner: dict[str, logmagic.Sink], facility: str) -> None:
        super().__init__(inner)
        self.facility = facility
        self.errors: list[BaseException] = []
        self.made: list[logmagic.LocalLogger] = []
        self.thread: threading.Thread | None = None

    def clear(self) -> None:
        super().clear()
        if self.thread is None:
            self.thread = threading.Thread(target=self._make)
            self.thread.start()
            self.thread.join(0.3)  # without a lock it runs now, against half a configuration

    def _make(self) -> None:
        try:
            self.made.append(logmagic.local(self.facility))
        except BaseException as exc:
            self.errors.append(exc)


@pytest.mark.parametrize("change", ["restore", "reset"])
def test_a_logger_made_while_the_configuration_changes_sees_a_whole_one(
    change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = logmagic.config.snapshot()
    mine = ListSink()
    logmagic.register_sink("mine", mine)
    logmagic.route("__root__", logmagic.INFO, "mine")
    snap = logmagic.config.snapshot()
    logmagic.register_sink("other", ListSink())
    logmagic.route("__root__", logmagic.INFO, "other")
    watched = _ClearsWhileWatched(logmagic.config._sinks, f"raced.{change}")
    monkeypatch.setattr(logmagic.config, "_sinks", watched)
    if change == "restore":
        logmagic.config.restore(snap)
    else:
        logmagic.config.reset()
    assert watched.thread is not None
    watched.thread.join(5)
    assert watched.errors == []
    (made,) = watched.made
    made.info("after")
    if change == "restore":
        assert [r.msg for r in mine.records] == ["after"]
    else:
        assert mine.records == []  # back to the defaults: INFO and up, to the default sink
        assert made.enabled("info") and not made.enabled("debug")
    monkeypatch.undo()
    logmagic.config.restore(before)


def test_a_configure_that_fails_changes_nothing_of_the_state(sink: ListSink) -> None:
    before = logmagic.config.snapshot()
    with pytest.raises(ValueError, match="nosuch"):
        logmagic.configure(
            routes=[("__root__", "INFO", "nosuch")],
            host="elsewhere",
            version="v9",
            redact=False,
            rewriters=[lambda f, lv, m, fields: fields],
            account_id=lambda request: "ac1",
            env=False,
        )
    after = logmagic.config.snapshot()
    assert (after.host, after.version, after.redactor, after.routes) == (
        before.host,
        before.version,
        before.redactor,
        before.routes,
    )
    assert after.rewriters.user == before.rewriters.user and after.account_hook == before.account_hook
    logmagic.local("app").info("still", password="hunter2")
    assert sink.records[-1].fields == {"password": "[REDACTED]"}
