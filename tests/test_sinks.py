"""The stderr and file sinks: whole lines, rotation, reopen, threads, broken pipes, fork."""

from __future__ import annotations

import gc
import json
import math
import os
import pty
import select
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import logmagic
from logmagic import call_paths
from logmagic.record import Record
from logmagic.sinks import FdSink, FileSink
from logmagic.sinks.queued import QueuedSink

from .conftest import open_here


class Clock:
    """A settable record clock: the file sink paces its rotation check by record time."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(call_paths, "_now", c)
    return c


def file_log(path: Path, fmt: str = "gelf") -> logmagic.LocalLogger:
    logmagic.register_sink("main", f"file://{path}?format={fmt}")
    logmagic.route("__root__", logmagic.DEBUG, "main")
    return logmagic.local("svc")


def messages(path: Path) -> list[str]:
    return [json.loads(line)["short_message"] for line in path.read_text().splitlines()]


def test_file_sink_appends_one_gelf_line_per_record(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text('{"short_message": "already here"}\n')
    log = file_log(path)
    log.info("one", k="v")
    log.dbg("two")
    assert messages(path) == ["already here", "one", "two"]
    assert json.loads(path.read_text().splitlines()[1])["_k"] == "v"
    assert logmagic.stats()["main"] == {"written": 2, "dropped": 0}


def test_json_format_keeps_fields_nested(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    file_log(path, "json").info("m", headers={"user-agent": "x"})
    rec = json.loads(path.read_text())
    assert rec["headers"] == {"user-agent": "x"} and rec["message"] == "m" and rec["facility"] == "svc"


def test_file_moved_away_by_logrotate_is_followed_within_a_second(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "app.log"
    log = file_log(path)
    log.info("before")
    os.rename(path, tmp_path / "app.log.1")
    log.info("same second: still the old file")
    clock.now += 1.5
    log.info("after")
    assert messages(tmp_path / "app.log.1") == ["before", "same second: still the old file"]
    assert messages(path) == ["after"]


def test_file_deleted_is_recreated(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "app.log"
    log = file_log(path)
    log.info("gone")
    path.unlink()
    clock.now += 2
    log.info("back")
    assert messages(path) == ["back"]


def test_reopen_switches_to_the_new_file_at_once(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "app.log"
    log = file_log(path)
    log.info("old")
    os.rename(path, tmp_path / "old.log")
    logmagic.reopen()
    log.info("new")
    assert messages(path) == ["new"]
    assert messages(tmp_path / "old.log") == ["old"]


def test_shutdown_keeps_the_file_and_the_next_record_lands_in_it(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    log = file_log(path)
    log.info("a")
    assert logmagic.shutdown(1.0) is True
    log.info("b")
    assert messages(path) == ["a", "b"]
    logmagic.reset()  # the sink is dropped: its descriptor is closed
    gc.collect()
    assert not open_here(path)


def test_missing_directory_is_a_clear_error_at_configure_time(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"directory .* does not exist"):
        logmagic.register_sink("main", f"file://{tmp_path}/nope/app.log")


def test_unwritable_path_is_a_clear_error_at_configure_time(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot open"):
        logmagic.register_sink("main", f"file://{tmp_path}")  # a directory, not a file


def test_eight_threads_write_80000_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "threads.log"
    log = file_log(path)
    pad = "x" * 300  # lines of several hundred bytes make torn writes visible

    def work(t: int) -> None:
        for i in range(10_000):
            log.info("m", t=t, i=i, pad=pad)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    seen = {(r["_t"], r["_i"]) for r in map(json.loads, lines[:-1])}
    assert len(lines) - 1 == 80_000
    assert seen == {(t, i) for t in range(8) for i in range(10_000)}


BROKEN_PIPE_CHILD = """
import logmagic, sys
log = logmagic.local("child")
for i in range(2000):
    log.info("line", i=i)
print(logmagic.stats()["graylog2-stderr"]["dropped"])
"""


def test_broken_pipe_on_stderr_never_reaches_the_caller() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: every write gets EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-c", BROKEN_PIPE_CHILD], env=env, stderr=write_end, stdout=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 0
    assert int(proc.stdout) == 2000


FORK_CHILD = """
import os, sys, threading, time, logmagic
logmagic.register_sink("main", "file://" + sys.argv[1])
logmagic.route("__root__", logmagic.INFO, "main")
log = logmagic.local("forky")
sink = logmagic.config.sinks()["main"]
held = threading.Event()
release = threading.Event()
def hold():
    with sink.line_lock:            # another thread is inside the sink at the moment of fork
        held.set()
        release.wait(10)
threading.Thread(target=hold, daemon=True).start()
held.wait(10)
pid = os.fork()
if pid == 0:
    log.info("from child", pid=os.getpid())
    os._exit(0)
release.set()
_, status = os.waitpid(pid, 0)
log.info("from parent")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_child_forked_while_the_sink_lock_is_held_can_still_log(tmp_path: Path) -> None:
    path = tmp_path / "fork.log"
    proc = subprocess.run([sys.executable, "-c", FORK_CHILD, str(path)], timeout=60)
    assert proc.returncode == 0
    assert sorted(messages(path)) == ["from child", "from parent"]


SIGNAL_SCRIPT = """
import os, signal, sys, logmagic
logmagic.register_sink("main", "file://" + sys.argv[1])
logmagic.route("__root__", logmagic.INFO, "main")
log = logmagic.local("sig")

def on_hup(signum, frame):
    log.info("from the handler")
    logmagic.reopen()

signal.signal(signal.SIGHUP, on_hup)
sink = logmagic.config.sinks()["main"]
with sink.line_lock:  # as if the signal arrived in the middle of a write
    os.kill(os.getpid(), signal.SIGHUP)
    for _ in range(1000):
        pass  # the handler runs here, between bytecodes, with the lock held by this thread
log.info("after the handler")
print("done", flush=True)
"""


def test_a_signal_handler_can_log_and_reopen_while_a_write_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    run = subprocess.run(
        [sys.executable, "-c", SIGNAL_SCRIPT, str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert (run.returncode, run.stdout) == (0, "done\n"), run.stderr
    assert messages(path) == ["from the handler", "after the handler"]


def _write_while_locked(sink: FdSink, ts: float) -> threading.Thread:
    """Start a write of one line while this thread holds the sink's lock; return the writer."""
    writer = threading.Thread(target=sink.write_line, args=(b'{"m":1}\n', ts))
    writer.start()
    writer.join(0.5)
    return writer


def test_on_a_pipe_every_line_takes_the_lock() -> None:
    read_end, write_end = os.pipe()
    try:
        sink = FdSink(write_end)
        sink.write_line(b'{"m":0}\n', 1000.0)  # the first line looks at the descriptor
        with sink.line_lock:
            writer = _write_while_locked(sink, 1000.0)
            assert writer.is_alive()  # waiting for the lock: a pipe keeps only short writes whole
        writer.join(10)
        assert os.read(read_end, 100) == b'{"m":0}\n{"m":1}\n'
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize("target", ["regular file", "/dev/null"])
def test_on_a_regular_file_or_dev_null_lines_skip_the_lock(tmp_path: Path, target: str) -> None:
    path = tmp_path / "plain.log" if target == "regular file" else Path(os.devnull)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        sink = FdSink(fd)
        sink.write_line(b'{"m":0}\n', 1000.0)
        with sink.line_lock:
            writer = _write_while_locked(sink, 1000.5)
            writer.join(10)
            assert not writer.is_alive()  # written while the lock was held elsewhere
        assert sink.written == 2
        if target == "regular file":
            assert path.read_bytes() == b'{"m":0}\n{"m":1}\n'
    finally:
        os.close(fd)


def test_on_a_terminal_every_line_takes_the_lock() -> None:
    controller, terminal = pty.openpty()  # a signal cuts a terminal write short: no lock-free writes
    try:
        sink = FdSink(terminal, "json")
        sink.write_line(b'{"m":0}\n', 1000.0)
        with sink.line_lock:
            writer = _write_while_locked(sink, 1000.0)
            assert writer.is_alive()
        writer.join(10)
        got = b""
        while got.count(b"\n") < 2 and select.select([controller], [], [], 10)[0]:
            got += os.read(controller, 100)  # a terminal may hand the two writes over one by one
        assert got.replace(b"\r", b"") == b'{"m":0}\n{"m":1}\n'
    finally:
        os.close(controller)
        os.close(terminal)


def _clock_set_back(log: logmagic.LocalLogger, clock: Clock) -> None:
    clock.now -= 3600  # the clock was an hour ahead and got corrected
    log.info("stamped earlier")


def _old_record_forwarded(log: logmagic.LocalLogger, clock: Clock) -> None:
    log.forward(logmagic.INFO, "stamped earlier", timestamp=clock.now - 30)  # from a queue


@pytest.mark.parametrize("stamp_earlier", [_clock_set_back, _old_record_forwarded])
def test_a_record_stamped_before_the_last_look_looks_at_the_file_first(
    tmp_path: Path, clock: Clock, stamp_earlier: Callable[[logmagic.LocalLogger, Clock], None]
) -> None:
    path = tmp_path / "app.log"
    log = file_log(path)
    log.info("before")
    os.rename(path, tmp_path / "app.log.1")
    stamp_earlier(log, clock)
    assert messages(tmp_path / "app.log.1") == ["before"]
    assert messages(path) == ["stamped earlier"]


@pytest.mark.parametrize("odd", [math.nan, math.inf, -math.inf, 1e300])
def test_a_record_with_an_odd_timestamp_does_not_break_the_rotation_check(
    tmp_path: Path, clock: Clock, odd: float
) -> None:
    path = tmp_path / "app.log"
    log = file_log(path)
    sink = logmagic.config.sinks()["main"]
    sink.emit(Record("app", logmagic.INFO, "odd", {}, odd))  # forward() would replace such a time
    assert isinstance(sink, FdSink) and math.isfinite(sink.look_from) and math.isfinite(sink.next_check)
    os.rename(path, tmp_path / "app.log.1")
    clock.now += 1.5
    log.info("after")
    assert messages(path) == ["after"]


def test_a_descriptor_pointed_elsewhere_is_seen_within_a_second(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "plain.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    read_end, write_end = os.pipe()
    try:
        sink = FdSink(fd)
        sink.write_line(b'{"m":0}\n', 1000.0)
        os.dup2(write_end, fd)  # as a daemon does when it points fd 2 at a pipe
        sink.write_line(b'{"m":1}\n', 1001.5)  # a second later: the sink looks again
        with sink.line_lock:
            writer = _write_while_locked(sink, 1001.6)
            assert writer.is_alive()
        writer.join(10)
        assert os.read(read_end, 100) == b'{"m":1}\n{"m":1}\n'
    finally:
        for end in (fd, read_end, write_end):
            os.close(end)


def test_a_path_that_cannot_be_checked_keeps_the_open_file(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "app.log"
    log = file_log(path)
    log.info("before")
    real_stat = os.stat

    def denied(target: object, *args: object, **kw: object) -> os.stat_result:
        if str(target) == str(path):
            raise PermissionError(13, "Permission denied")  # as after a daemon drops privileges
        return real_stat(target, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", denied)
    for second in range(3):
        clock.now += 1.5  # every record is due for a rotation check
        log.info("after", second=second)
    monkeypatch.undo()
    assert messages(path) == ["before", "after", "after", "after"]
    assert logmagic.stats()["main"] == {"written": 4, "dropped": 0}
    assert capfd.readouterr().err.count("cannot check") == 1  # said once, not once a second


SHORT_WRITE = """
import os, resource, signal, sys, logmagic
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
logmagic.configure(routes="__root__=INFO:f", sinks={"f": "file://" + sys.argv[1]}, env=False)
log = logmagic.local("app")
log.info("first")
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(sys.argv[1]) + 100, resource.RLIM_INFINITY))
log.info("x" * 1000)  # the kernel writes 100 bytes, then refuses the rest
print(logmagic.stats()["f"])
"""


def test_a_line_cut_short_and_then_refused_is_dropped_not_written(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", SHORT_WRITE, str(tmp_path / "a.log")], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "{'written': 1, 'dropped': 1}"
    assert "File too large" in run.stderr


def test_a_bad_format_leaves_no_file_open(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        FileSink(str(tmp_path / "a.log"), "yaml")
    assert not open_here(tmp_path / "a.log")


class _Held(QueuedSink):
    """A network sink whose deliveries wait until the test lets each one go."""

    def __init__(self) -> None:
        super().__init__(batch_size=3, batch_age=0.01)
        self.started: list[threading.Event] = [threading.Event(), threading.Event()]
        self.release: list[threading.Event] = [threading.Event(), threading.Event()]
        self.calls = 0

    def deliver(self, batch: list[bytes]) -> None:
        call, self.calls = self.calls, self.calls + 1
        self.started[call].set()
        self.release[call].wait(10)


def _until(condition: Callable[[], bool]) -> bool:
    for _ in range(2000):
        if condition():
            return True
        threading.Event().wait(0.005)
    return False


def test_a_batch_of_the_worker_started_during_close_is_not_counted_by_that_close() -> None:
    """Close gives up on a worker stuck in a send; meanwhile a record starts a new worker, which
    takes a batch of its own. Close counts the stuck worker's batch, not the new one's: every
    record is counted once, as sent or dropped."""
    sink = _Held()
    record = Record("x", logmagic.INFO, "m", {}, 0.0)
    sink.emit(record)  # the first worker takes it and is stuck sending it
    assert sink.started[0].wait(10)
    closer = threading.Thread(target=sink.close, args=(0.0,))
    closer.start()  # waits half a second for the stuck worker
    assert _until(lambda: sink._worker is None)
    for _ in range(3):
        sink.emit(record)  # a second worker, with a batch of three
    assert sink.started[1].wait(10)
    closer.join(10)
    assert sink.stats()["pending"] == 3, "the new worker's batch is still in flight"
    sink.release[1].set()
    assert _until(lambda: sink.stats()["pending"] == 0)
    sink.release[0].set()
    stats = sink.stats()
    assert (stats["queued"], stats["sent"], stats["dropped"]) == (4, 3, 1)
    sink.close(1.0)
