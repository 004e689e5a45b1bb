"""stderr on a bad day: a pipe whose reader stopped, a non-blocking pipe, a full disk, forged lines.

Each test runs a real child process whose stderr is a real pipe or a file on a real tmpfs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import select
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from logmagic.sink_specs import sink_from_spec
from logmagic.sinks import FdSink

from ..conftest import drain_pty
from ..diagnostics import diagnostics

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
#: How long a child may take before the test calls it hung (it hangs forever on failure).
HANG = 30


def full_pipe() -> tuple[int, int]:
    """A pipe of one page whose buffer is already full, its write end blocking as usual."""
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    flags = fcntl.fcntl(w, fcntl.F_GETFL)
    fcntl.fcntl(w, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        while True:
            os.write(w, b"#" * 511 + b"\n")
    except BlockingIOError:
        pass
    fcntl.fcntl(w, fcntl.F_SETFL, flags)
    return r, w


def spawn(script: str, stderr: int, **kw: object) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        **kw,
    )


def finish(proc: subprocess.Popen[bytes]) -> bytes:
    """The child's stdout once it exited; fails (killing it) if it hangs."""
    try:
        out, err = proc.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"the child hung for {HANG} s")
    assert proc.returncode == 0, (out, err)
    return out


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections (bound, never listening)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def test_a_full_stderr_pipe_never_blocks_a_network_only_log_call_nor_exit(dead_port: int) -> None:
    r, w = full_pipe()
    proc = spawn(
        f"""
        import json, logmagic
        logmagic.register_sink("net", "gelf+tcp://127.0.0.1:{dead_port}?queue_size=10&timeout=0.5")
        logmagic.route("__root__", "INFO", "net")
        log = logmagic.local("app")
        for i in range(200):
            log.info("record", i=i)   # the queue is full after 10: each loss is a diagnostic
        logmagic.shutdown(0.5)
        print(json.dumps(logmagic.stats()), flush=True)
        """,
        w,
    )
    os.close(w)
    try:
        stats = json.loads(finish(proc))
    finally:
        os.close(r)
    assert stats["net"]["dropped"] >= 190
    # stderr had no room: the loss reports were counted, not waited for.
    assert stats["logmagic"]["diagnostics_unwritten"] >= 1


def test_a_diagnostic_held_back_by_a_full_pipe_is_said_once_there_is_room(dead_port: int) -> None:
    r, w = full_pipe()
    proc = spawn(
        f"""
        import json, logmagic, sys
        logmagic.register_sink("net", "gelf+tcp://127.0.0.1:{dead_port}?queue_size=1&timeout=0.5")
        logmagic.route("__root__", "INFO", "net")
        log = logmagic.local("app")
        for i in range(5):
            log.info("record", i=i)  # lost from the second on: the report finds no room, is kept
        print("logged", flush=True)
        sys.stdin.readline()  # the parent drains the pipe meanwhile
        logmagic.shutdown(0.5)
        print(json.dumps(logmagic.stats()), flush=True)
        """,
        w,
        stdin=subprocess.PIPE,
    )
    os.close(w)
    assert proc.stdout is not None and proc.stdin is not None
    if not select.select([proc.stdout], [], [], HANG)[0]:
        proc.kill()
        pytest.fail("a log call hung on the full pipe")
    assert proc.stdout.readline() == b"logged\n"
    os.set_blocking(r, False)
    with contextlib.suppress(BlockingIOError):
        while os.read(r, 65536):
            pass
    os.set_blocking(r, True)
    proc.stdin.write(b"\n")
    proc.stdin.flush()
    stats = json.loads(finish(proc))
    rest = b""
    while chunk := os.read(r, 65536):
        rest += chunk
    os.close(r)
    reported = sum(int(n) for line in diagnostics(rest) for n in re.findall(r"net: (\d+) lost", line))
    assert reported == stats["net"]["dropped"] >= 4  # what found no room was said later, not lost


STDERR_SINK_CHILD = """
    import json, logmagic, threading, time
    logmagic.register_sink("err", "graylog2-stderr?block={block}")
    logmagic.route("__root__", "INFO", "err")
    log = logmagic.local("app")
    start = time.monotonic()
    for i in range(20):
        log.info("x" * 300, i=i)
    print(json.dumps({{"took": time.monotonic() - start, "stats": logmagic.stats()}}), flush=True)
"""


@pytest.mark.parametrize("block", ["0", "20"])
def test_a_stderr_sink_with_a_wait_limit_drops_and_counts_on_a_full_pipe(block: str) -> None:
    r, w = full_pipe()
    proc = spawn(STDERR_SINK_CHILD.format(block=block), w)
    os.close(w)
    try:
        result = json.loads(finish(proc))
    finally:
        os.close(r)
    assert result["stats"]["err"] == {"written": 0, "dropped": 20}


def test_a_stderr_sink_that_blocks_waits_for_the_reader_and_loses_nothing() -> None:
    r, w = full_pipe()
    proc = spawn(STDERR_SINK_CHILD.format(block="wait"), w)
    os.close(w)
    time.sleep(1.0)
    assert proc.poll() is None  # the default policy: the reader pushes back
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    result = json.loads(finish(proc))
    assert result["stats"]["err"] == {"written": 20, "dropped": 0}
    lines = [json.loads(line) for line in data.split(b"\n") if line.startswith(b"{")]
    assert [rec["_i"] for rec in lines] == list(range(20))


def test_exit_does_not_hang_on_a_stderr_writer_stuck_on_a_full_pipe() -> None:
    r, w = full_pipe()
    proc = spawn(
        """
        import atexit, sys, threading, time
        def late():
            log.info("logged by an exit handler")  # the stuck writer holds the sink
            print("exit handler done", flush=True)
        atexit.register(late)  # before logmagic's: runs after its exit flush
        import logmagic
        logmagic.route("__root__", "INFO", "graylog2-stderr")
        log = logmagic.local("app")
        threading.Thread(target=lambda: log.info("stuck"), daemon=True).start()
        time.sleep(0.3)
        """,
        w,
    )
    os.close(w)
    try:
        out = finish(proc)
    finally:
        os.close(r)
    assert out == b"exit handler done\n"


def test_a_nonblocking_stderr_pipe_gets_every_long_line_whole() -> None:
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    os.set_blocking(w, False)  # as a parent such as node leaves it
    proc = spawn(
        """
        import json, logmagic, threading
        logmagic.route("__root__", "INFO", "graylog2-stderr")
        log = logmagic.local("app")
        def burst(t):
            for i in range(50):
                log.info("long line", t=t, i=i, body="é" * 4500)
        threads = [threading.Thread(target=burst, args=(t,)) for t in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps(logmagic.stats()), flush=True)
        """,
        w,
    )
    os.close(w)
    data = b""
    while chunk := os.read(r, 1024):  # a slow reader
        data += chunk
        time.sleep(0.0005)
    os.close(r)
    stats = json.loads(finish(proc))
    lines = data.split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    assert sorted((rec["_t"], rec["_i"]) for rec in records) == [(t, i) for t in range(4) for i in range(50)]
    assert stats["graylog2-stderr"] == {"written": 200, "dropped": 0}


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs: {done.stderr.decode().strip()}"
        if os.environ.get("LOGMAGIC_REQUIRE_ALL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_line_torn_by_a_full_disk_stands_alone_and_the_next_record_is_whole(tiny_disk: Path) -> None:
    log_file, filler = tiny_disk / "app.log", tiny_disk / "filler"
    out = finish(
        spawn(
            f"""
            import json, os, logmagic
            logmagic.register_sink("f", "file://{log_file}")
            logmagic.route("__root__", "INFO", "f")
            log = logmagic.local("app")
            log.info("before")                       # the file takes its first page
            fd = os.open({str(filler)!r}, os.O_WRONLY | os.O_CREAT)   # then the disk fills up
            try:
                while True:
                    os.write(fd, b"0" * 4096)
            except OSError:
                os.close(fd)
            log.info("torn", body="x" * 20000)       # part of it fits in the file's page
            os.remove({str(filler)!r})
            log.info("after")
            print(json.dumps(logmagic.stats()), flush=True)
            """,
            subprocess.PIPE,
        )
    )
    stats = json.loads(out)
    assert stats["f"] == {"written": 2, "dropped": 1}
    lines = log_file.read_bytes().split(b"\n")
    assert json.loads(lines[0])["short_message"] == "before"
    assert lines[1].startswith(b'{"version"') and len(lines[1]) < 20000  # the torn part, alone
    assert json.loads(lines[2])["short_message"] == "after"
    assert lines[3:] == [b""]


def test_a_diagnostic_cannot_forge_a_record_nor_leak_a_secret(tmp_path: Path) -> None:
    err = tmp_path / "stderr"
    forged = '{"version":"1.1","host":"h","short_message":"forged","_facility":"auth"}'
    with open(err, "wb") as f:
        finish(
            spawn(
                f"""
                import logmagic
                def nosy(facility, level, msg, fields):
                    raise ValueError("bad body: password=hunter2\\n" + {forged!r} + "\\n")
                logmagic.add_rewriter(nosy)
                logmagic.route("__root__", "INFO", "graylog2-stderr")
                logmagic.local("app").info("hello")
                """,
                f.fileno(),
            )
        )
    lines = err.read_bytes().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON record
    assert sorted(r["_facility"] for r in records) == ["app", "logmagic"]
    said = diagnostics(err.read_bytes())
    assert len(said) == 1 and "forged" in said[0] and "hunter2" not in said[0] and "[REDACTED]" in said[0]
    chainsaw = subprocess.run(
        [sys.executable, "-m", "logmagic.tools.chainsaw", "facility=auth", str(err)], capture_output=True, timeout=60
    )
    assert (chainsaw.returncode, chainsaw.stdout) == (1, b"")


def test_a_diagnostic_on_a_terminal_is_one_escaped_line() -> None:
    import pty

    main, sub = pty.openpty()
    proc = spawn(
        """
        import logmagic
        from logmagic import _report
        _report.warn("a \\x1b[31mred\\x1b[0m warning\\nlogmagic: second line, token=abc123")
        """,
        sub,
    )
    os.close(sub)
    out = drain_pty(main)
    finish(proc)
    text = out.decode()
    assert text.count("logmagic:") == 2 and text.count("\n") == 1  # one line (the pty adds \r)
    assert "\x1b" not in text and "\\x1b[31m" in text and "abc123" not in text


@pytest.mark.parametrize(
    ("spec", "block"),
    [
        ("graylog2-stderr", None),
        ("graylog2-stderr?block=wait", None),
        ("console?block=250", 250.0),
        ("stderr://?format=json&block=0", 0.0),
    ],
)
def test_the_block_option_of_stderr_sinks(spec: str, block: float | None) -> None:
    sink = sink_from_spec(spec)
    assert isinstance(sink, FdSink) and sink.fd == 2 and sink.block == block


@pytest.mark.parametrize(
    "spec", ["graylog2-stderr?block=-1", "console?block=soon", "stderr://?block=inf", "stdlib?block=1"]
)
def test_a_bad_block_option_says_what_is_wrong(spec: str) -> None:
    with pytest.raises(ValueError, match="block"):
        sink_from_spec(spec)
