"""``logmagic ship`` end to end: real svlogd, real collectors, real crashes, on 127.0.0.1.

Each test runs the shipper as its own process (``python -m logmagic.tools.cli ship``), feeds it
numbered JSON lines (``line_writer.line``, some longer than 1,000 bytes) from a writer process
or, where no timing is involved, from the test itself, and compares what the Scribe server or
the HTTP collector of ``tests/e2e/peers`` accepted with what was written, line by line.
Crashes are SIGKILL; outages kill the collector and start a new one on the same port. No
assert is on wall time (``--stop-timeout`` is seen in the record it logs); time limits only
stop a test that would hang.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logmagic.tools.ship.destination import open_destination
from logmagic.tools.ship.shipper import Options, Shipper
from logmagic.tools.ship.state import StateFile

from ..conftest import require
from .line_writer import LONG_SIZE, line
from .shipping import Lab, Received, check_lines, deleted_fds, rss_kb, run_ship, wait_until

#: Seconds to wait for everything written to arrive once the shipper has it all in view.
DELIVERY_TIMEOUT = 90.0


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path)
    yield lab
    lab.close()


def start_svlogd(lab: Lab, logdir: Path, config: str) -> subprocess.Popen[bytes]:
    """Real ``svlogd -tt`` on ``logdir``, its ``config`` written before it starts."""
    svlogd = require("svlogd")
    logdir.mkdir()
    (logdir / "config").write_text(config)
    return lab.start([svlogd, "-tt", str(logdir)], stdin=subprocess.PIPE)


def fast(*args: str) -> tuple[str, ...]:
    """Shipper options for tests: look at idle files and retry often."""
    return ("--poll", "0.05", "--max-backoff", "0.3", *args)


# -- 1, 2: an svlogd stream through crashes and an outage ---------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["scribe", "http"])
def test_svlogd_stream_arrives_whole_through_shipper_crashes_and_a_collector_outage(lab: Lab, kind: str) -> None:
    n, batch, rate = 200_000, 1000, 25_000  # the writer runs about 8 s
    logdir = lab.directory / "api"
    svlogd = start_svlogd(lab, logdir, "s20000\nn10000\n")  # rotate every 20 kB, keep all files
    assert svlogd.stdin is not None
    writer = lab.writer("--count", str(n), "--rate", str(rate), stdout=svlogd.stdin)
    svlogd.stdin.close()
    started = time.monotonic()
    collector, url, received = lab.watched(kind)
    state = lab.directory / "ship.state"
    ship_args = fast("--from", str(logdir), "--to", url, "--state", str(state), "--batch-lines", str(batch))

    def at(second: float) -> None:  # events at fixed times into the writer's run
        time.sleep(max(0.0, started + second - time.monotonic()))

    def crash_mid_stream() -> None:
        before = received.count()
        assert received.wait_count(before + 2 * batch) >= before + 2 * batch, shipper.diagnostics()
        shipper.kill()

    shipper = lab.shipper(*ship_args)
    at(1.5)
    crash_mid_stream()
    shipper = lab.shipper(*ship_args)
    at(3.0)
    assert received.wait_count(1) > 0, shipper.diagnostics()
    collector.kill()
    down_at = received.count()
    time.sleep(1.5)  # the shipper retries meanwhile; svlogd's files keep growing
    assert received.count() == down_at
    collector, _ = lab.collector(kind, port=collector.port)
    received.watch(collector)
    outage = ["collector unavailable, retrying; reading paused", "collector reachable again"]
    assert wait_until(lambda: [r["short_message"] for r in shipper.log()][1:] == outage), shipper.diagnostics()
    at(6.0)
    assert writer.poll() is None, "the last crash should come while lines are still being written"
    crash_mid_stream()
    shipper = lab.shipper(*ship_args)

    assert writer.wait(timeout=120) == 0
    assert svlogd.wait(timeout=60) == 0
    delivered = received.wait_all(range(n), timeout=DELIVERY_TIMEOUT)
    assert shipper.terminate() == 0
    assert delivered, f"{received.unique()} of {n} lines arrived; {shipper.diagnostics()}"

    rotated = sorted(logdir.glob("@*.s"))
    assert len(rotated) > 100, "svlogd rotated its log many times under the shipper"
    split = [p for p in rotated if not p.read_bytes().endswith(b"\n")]
    assert split, "svlogd cut some long lines across a rotation: the shipper had to stitch them"
    received.update()
    duplicates = check_lines(received.messages, range(n))
    # At least once: each of the 2 crashes and the one outage may resend the batch in flight.
    assert duplicates <= 3 * batch, f"{duplicates} duplicates"
    assert sum(len(m) > LONG_SIZE for m in received.messages) >= n // 40
    if kind == "scribe":
        assert set(received.categories) == {"api"}, "the category is the svlogd directory's name"


@pytest.mark.parametrize("when", ["while-written", "after-a-crash", "afterwards"])
def test_svlogd_with_a_gzip_processor_ships_each_line_once_and_no_compressed_bytes(lab: Lab, when: str) -> None:
    """``!gzip``: svlogd renames ``current`` to ``@<stamp>.u``, writes its compressed output as
    ``@<stamp>.s`` (a new file) and deletes the ``.u``. A shipper reading along sends no output
    of what it read already; one that is behind, or restarted after the file it was reading
    was processed, reads the outputs decompressed. Nothing is reported lost."""
    n, batch = 6000, 200
    logdir = lab.directory / "api"
    svlogd = start_svlogd(lab, logdir, "s30000\nn10000\n!gzip\n")
    assert svlogd.stdin is not None
    _collector, url, received = lab.watched("http")
    state = lab.directory / "ship.state"
    ship_args = fast("--from", str(logdir), "--to", url, "--state", str(state), "--batch-lines", str(batch))
    shipper = lab.shipper(*ship_args) if when != "afterwards" else None
    writer = lab.writer("--count", str(n), "--rate", "3000", stdout=svlogd.stdin)
    svlogd.stdin.close()
    if when == "after-a-crash":
        assert shipper is not None
        assert received.wait_count(2 * batch) >= 2 * batch, shipper.diagnostics()
        shipper.kill()
        time.sleep(1.0)  # the file it was reading is rotated and processed meanwhile
        shipper = None
    assert writer.wait(timeout=120) == 0
    assert svlogd.wait(timeout=60) == 0
    if shipper is None:
        shipper = lab.shipper(*ship_args)
    delivered = received.wait_all(range(n), timeout=DELIVERY_TIMEOUT)
    assert shipper.terminate() == 0
    assert delivered, f"{received.unique()} of {n} lines arrived; {shipper.diagnostics()}"

    outputs = sorted(logdir.glob("@*.s"))
    assert len(outputs) > 10 and all(p.read_bytes()[:2] == b"\x1f\x8b" for p in outputs)
    received.update()
    duplicates = check_lines(received.messages, range(n))  # a compressed byte would fail here
    assert duplicates <= (batch if when == "after-a-crash" else 0)
    assert [r for r in shipper.log() if r["level"] <= 4] == [], "no loss reported, no warning"


# -- 3: logrotate on a plain file ---------------------------------------------------------


def rotate(app: Path, how: str, writer: subprocess.Popen[bytes]) -> None:
    """What logrotate does with ``rotate 2``: shift ``app.log.1`` to ``.2``, then rotate ``app.log``.

    ``copytruncate`` copies and truncates with the writer paused (SIGSTOP): logrotate itself
    loses what is written between its copy and its truncate, and that window is not the
    shipper's to close. ``create`` renames and tells the writer (SIGHUP) to reopen the path.
    """
    first = app.with_name(app.name + ".1")
    if first.exists():
        first.rename(app.with_name(app.name + ".2"))
    if how == "copytruncate":
        os.kill(writer.pid, signal.SIGSTOP)
        try:
            first.write_bytes(app.read_bytes())
            os.truncate(app, 0)
        finally:
            os.kill(writer.pid, signal.SIGCONT)
    else:
        app.rename(first)
        os.kill(writer.pid, signal.SIGHUP)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["copytruncate", "create"])
def test_logrotate_of_a_file_being_written_loses_no_line(lab: Lab, how: str) -> None:
    n, rate = 60_000, 20_000  # the writer runs about 3 s
    app = app_log(lab, "logs")
    _, url, received = lab.watched("scribe")
    reopen = ["--reopen-on-hup"] if how == "create" else []
    writer = lab.writer("--count", str(n), "--rate", str(rate), "--block", "100", "--out", str(app), *reopen)
    assert wait_until(app.exists)
    shipper = lab.shipper(*fast("--from", str(app), "--to", url, "--state", str(lab.directory / "s")))
    for _ in range(2):
        time.sleep(0.8)
        before = received.count()
        assert received.wait_count(before + 1) > before, shipper.diagnostics()
        rotate(app, how, writer)
        time.sleep(1.0)
    assert writer.wait(timeout=60) == 0
    assert received.wait_all(range(n)), f"{received.unique()} of {n} arrived; {shipper.diagnostics()}"
    assert shipper.terminate() == 0

    assert app.with_name("app.log.2").stat().st_size > 0 and app.with_name("app.log.1").stat().st_size > 0
    assert check_lines(received.messages, range(n)) == 0, "no crash, no outage: nothing twice"
    assert set(received.categories) == {"app"}, "a file in a generic directory: its name is the category"
    if how == "copytruncate":
        status = json.loads((lab.directory / "s.status").read_bytes())
        assert status["sources"][0]["truncations"] == 2


def app_log(lab: Lab, folder: str) -> Path:
    """``app.log`` in a new directory ``folder`` of the lab (the file itself is not made)."""
    logs = lab.directory / folder
    logs.mkdir()
    return logs / "app.log"


def append(path: Path, seqs: range) -> int:
    """Append lines ``seqs`` to ``path`` in one write; the bytes written."""
    data = b"".join(line(s) for s in seqs)
    with path.open("ab") as f:
        f.write(data)
    return len(data)


def test_copytruncate_with_date_names_reads_the_copy_of_this_file(lab: Lab) -> None:
    # logrotate `dateext`: app.log-DATE sorts oldest first. After a quiet spell the shipper
    # opens the truncated app.log while it is still empty; at the next copytruncate it must
    # take the lines written just before from the new copy, not from the older, longer one.
    app = app_log(lab, "logs")
    logs = app.parent
    _, url, received = lab.watched("scribe")
    append(app, range(0, 5000))
    shipper = lab.shipper(*fast("--from", str(app), "--to", url, "--state", str(lab.directory / "s")))

    def copytruncate(copy: str) -> None:
        (logs / copy).write_bytes(app.read_bytes())
        os.truncate(app, 0)

    assert received.wait_all(range(5000)), shipper.diagnostics()
    append(app, range(5000, 5100))  # written just before the rotation: read from the copy
    copytruncate("app.log-20261122")
    time.sleep(0.5)  # quiet: the shipper finishes the copy and opens the empty app.log
    append(app, range(5100, 5900))
    assert received.wait_all(range(5900)), shipper.diagnostics()
    append(app, range(5900, 6000))
    copytruncate("app.log-20261123")
    append(app, range(6000, 6100))
    assert received.wait_all(range(6100)), f"{received.unique()} of 6100 arrived; {shipper.diagnostics()}"
    assert shipper.terminate() == 0
    assert check_lines(received.messages, range(6100)) == 0


def test_a_file_unreadable_at_restart_is_read_on_from_its_position_once_readable(lab: Lab) -> None:
    app = app_log(lab, "logs")
    append(app, range(0, 1000))
    _, url, received = lab.watched("scribe")
    args = fast("--from", str(app), "--to", url, "--state", str(lab.directory / "s"))
    shipper = lab.shipper(*args)
    assert received.wait_all(range(1000)), shipper.diagnostics()
    assert shipper.terminate() == 0
    app.chmod(0)  # logrotate's `create 0600 other-user`, fixed by someone a moment later
    # As root the shipper could read it all the same: run it without the capabilities that allow that.
    setpriv = [require("setpriv"), "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    shipper = lab.shipper(*args, under=setpriv)
    cannot = "cannot open: Permission denied"
    assert wait_until(lambda: any(cannot in str(r.get("short_message")) for r in shipper.log())), shipper.diagnostics()
    time.sleep(1.0)  # many looks at the file (--poll 0.05) while it stays unreadable
    app.chmod(0o644)
    append(app, range(1000, 1100))
    assert received.wait_all(range(1100)), shipper.diagnostics()
    assert shipper.terminate() == 0
    assert check_lines(received.messages, range(1100)) == 0, "the file is not sent again from its start"
    warnings = [r for r in shipper.log() if cannot in str(r.get("short_message"))]
    assert len(warnings) == 1, "one warning while the reason stays the same"


def test_deleted_files_read_to_their_end_are_closed_and_forgotten(lab: Lab) -> None:
    logs = lab.directory / "logs"
    logs.mkdir()
    days = [logs / f"day-2024-05-0{d}.log" for d in (1, 2, 3)]
    for i, day in enumerate(days):
        append(day, range(i * 1000, i * 1000 + 1000))
    app = logs / "app.log"
    append(app, range(3000, 3100))
    _, url, received = lab.watched("scribe")
    state = lab.directory / "ship.state"
    glob = str(logs / "day-*.log")
    shipper = lab.shipper(*fast("--from", glob, "--from", str(app), "--to", url, "--state", str(state)))
    assert received.wait_all(range(3100)), shipper.diagnostics()
    for path in (days[0], days[1], app):  # retention cleanup, everything shipped
        path.unlink()
    assert wait_until(lambda: not deleted_fds(shipper.pid)), deleted_fds(shipper.pid)
    forgotten = {str(days[0]), str(days[1]), str(app)}
    assert wait_until(lambda: not forgotten & set(json.loads(state.read_bytes())["sources"]))
    append(days[2], range(3100, 3200))
    append(app, range(3200, 3300))  # a path named on the command line is followed again
    assert received.wait_all(range(3300)), shipper.diagnostics()
    assert shipper.terminate() == 0
    assert check_lines(received.messages, range(3300)) == 0
    assert (
        sum(r.get("short_message") == "file deleted and shipped to its end; no longer followed" for r in shipper.log())
        == 3
    )


def test_an_svlogd_directory_created_after_the_shipper_started_is_read_as_one(lab: Lab) -> None:
    logdir = lab.directory / "api" / "log" / "main"  # runit's log/run does `mkdir -p` then `exec svlogd`
    _, url, received = lab.watched("scribe")
    state = lab.directory / "ship.state"
    shipper = lab.shipper(*fast("--from", str(logdir), "--to", url, "--state", str(state)))
    assert wait_until(lambda: running(lab.directory / "ship.state.status").get("sources")), shipper.diagnostics()
    logdir.parent.mkdir(parents=True)
    svlogd = start_svlogd(lab, logdir, "")
    assert svlogd.stdin is not None
    svlogd.stdin.write(b"".join(line(s) for s in range(100)))
    svlogd.stdin.close()
    assert svlogd.wait(timeout=60) == 0
    assert received.wait_all(range(100)), shipper.diagnostics()
    assert shipper.terminate() == 0
    assert check_lines(received.messages, range(100)) == 0, "svlogd's timestamps are taken off"
    assert set(received.categories) == {"api"}, "the category is the service's, as for a directory there at startup"


def test_a_glob_leaves_out_temporary_state_files_left_by_a_crash(lab: Lab) -> None:
    logs = lab.directory / "logs"
    logs.mkdir()
    append(logs / "app.log", range(100))
    state = logs / "ship.state"
    (logs / "ship.state.tmp.4242").write_text('{"version": 1, "sources": {}}')  # a crash between write and rename
    _, url, received = lab.watched("scribe")
    shipper = lab.shipper(*fast("--from", str(logs / "*"), "--to", url, "--state", str(state)))
    assert received.wait_all(range(100)), shipper.diagnostics()
    assert wait_until(lambda: running(logs / "ship.state.status").get("sources"))
    assert shipper.terminate() == 0
    assert check_lines(received.messages, range(100)) == 0
    assert [s["source"] for s in running(logs / "ship.state.status")["sources"]] == [str(logs / "app.log")]


# -- 4: SIGTERM, SIGHUP, --status ---------------------------------------------------------


def test_sigterm_mid_stream_exits_0_with_a_state_that_resends_nothing(lab: Lab) -> None:
    n, batch = 100_000, 1000
    app = app_log(lab, "svc")
    size = append(app, range(n))
    _, url, received = lab.watched("scribe")
    state = lab.directory / "ship.state"
    args = fast("--from", str(app), "--to", url, "--state", str(state), "--batch-lines", str(batch))
    shipper = lab.shipper(*args)
    assert received.wait_count(20_000) >= 20_000, shipper.diagnostics()
    assert shipper.terminate(timeout=10) == 0, shipper.diagnostics()
    stopped_at = received.count()
    assert stopped_at < n, "stopped mid-stream"

    saved = json.loads(state.read_bytes())  # valid JSON, not a torn write
    assert saved["version"] == 1
    (position,) = saved["sources"].values()
    assert position["name"] == str(app)
    assert position["offset"] == sum(len(line(s)) for s in range(stopped_at)), "saved = exactly what arrived"
    assert any(r.get("short_message") == "stopped" for r in shipper.log())

    shipper = lab.shipper(*args)
    assert received.wait_all(range(n)), shipper.diagnostics()
    assert shipper.terminate() == 0
    assert check_lines(received.messages, range(n)) == 0, "a clean stop resends nothing"
    assert json.loads(state.read_bytes())["sources"][str(app)]["offset"] == size


def test_sigterm_with_a_collector_that_never_answers_exits_0_within_stop_timeout(lab: Lab) -> None:
    app = app_log(lab, "svc")
    append(app, range(1000))
    state = lab.directory / "ship.state"
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"scribe://127.0.0.1:{silent.getsockname()[1]}?timeout=60"
        shipper = lab.shipper("--from", str(app), "--to", url, "--state", str(state), "--stop-timeout", "1")
        time.sleep(1.5)  # connected, the first batch sent, waiting for an answer that never comes
        assert shipper.proc.poll() is None
        shipper.signal(signal.SIGTERM)
        # The send would end by its own 60 s timeout, with a "stopped" record: the record below
        # says --stop-timeout ended it instead (the wait's timeout only guards against a hang).
        assert shipper.proc.wait(timeout=120) == 0
    said = [r["short_message"] for r in shipper.log()]
    assert said[-1] == "stop timeout: the send in flight did not end; exiting without it", said
    assert not state.exists(), "nothing was acknowledged, nothing is recorded as sent"

    _, url, received = lab.watched("scribe")
    shipper = lab.shipper(*fast("--from", str(app), "--to", url, "--state", str(state)))
    assert received.wait_all(range(1000)), shipper.diagnostics()
    assert shipper.terminate() == 0
    assert check_lines(received.messages, range(1000)) == 0


def test_sighup_picks_up_a_new_file_matching_the_glob(lab: Lab) -> None:
    logs = lab.directory / "logs"
    logs.mkdir()
    append(logs / "a.log", range(0, 1000))
    _, url, received = lab.watched("scribe")
    shipper = lab.shipper(
        *fast("--from", str(logs / "*.log"), "--to", url, "--state", str(lab.directory / "s"), "--rescan", "3600")
    )
    assert received.wait_all(range(1000)), shipper.diagnostics()
    append(logs / "b.log", range(1000, 2000))
    time.sleep(1.0)
    assert received.count() == 1000, "without a rescan (every hour here) b.log is not followed yet"
    shipper.signal(signal.SIGHUP)
    assert received.wait_all(range(2000)), shipper.diagnostics()
    assert shipper.proc.poll() is None, "SIGHUP rescans; it does not stop the shipper"
    assert shipper.terminate() == 0
    assert check_lines(received.messages, range(2000)) == 0
    assert received.categories == {"a": 1000, "b": 1000}, "each file is its own source and category"
    assert any(r.get("short_message") == "following a new source" for r in shipper.log())


def test_a_line_the_collector_refuses_is_dropped_and_not_counted_as_sent(lab: Lab) -> None:
    app = lab.directory / "app.log"
    append(app, range(0, 2))  # one batch: refused whole (400), then line 0 accepted, line 1 refused
    collector = lab.peer("http_collector.py", "--responses", "400,200,400,200")
    received = Received("http")
    received.watch(collector)
    url = f"http://127.0.0.1:{collector.port}/ingest"
    state = lab.directory / "ship.state"
    shipper = lab.shipper(*fast("--from", str(app), "--to", url, "--state", str(state)))
    assert received.wait_all([0]), shipper.diagnostics()
    append(app, range(2, 4))
    assert received.wait_all([0, 2, 3]), shipper.diagnostics()
    assert shipper.terminate() == 0
    assert received.seqs == {0, 2, 3}
    status = running(lab.directory / "ship.state.status")
    assert (status["lines_sent"], status["dropped"]) == (3, 1)
    assert status["bytes_sent"] == sum(len(line(s)) for s in (0, 2, 3))
    done = run_ship("--status", "--state", str(state))
    assert "lines sent 3," in done.stdout and "dropped 1" in done.stdout, done.stdout


def test_the_collectors_retry_after_is_waited_for(lab: Lab) -> None:
    collector = lab.peer("http_collector.py", "--responses", "429:2,503,200")
    url = f"http://127.0.0.1:{collector.port}/ingest"
    state = StateFile(str(lab.directory / "s"))
    shipper = Shipper([], open_destination(url), state, str(lab.directory / "s.status"), Options(max_backoff=5))
    asked: list[float] = []

    class Recorded(threading.Event):
        """The shipper's stop event: the waits it is asked for are recorded, not waited."""

        def wait(self, timeout: float | None = None) -> bool:
            asked.append(float(timeout or 0))
            return False

    shipper._stop = Recorded()
    assert shipper._send("app", [line(0)]) == []
    assert [json.loads(r)["status"] for r in collector.lines()] == [429, 503, 200]
    # Retry-After: 2 is waited for; a 503 without it gets the shipper's own jittered backoff
    assert asked[0] == 2.0 and 0.1 <= asked[1] <= 0.2


def running(status_file: Path) -> dict[str, Any]:
    """What the running shipper last wrote to its status file ({} before the first write)."""
    try:
        return dict(json.loads(status_file.read_bytes()))
    except FileNotFoundError:
        return {}


def status_row(state: Path, source: Path) -> tuple[list[str], str]:
    """The ``--status`` row of ``source`` split in columns, and the whole output."""
    done = run_ship("--status", "--state", str(state))
    assert done.returncode == 0, done.stderr
    rows = [r.split() for r in done.stdout.splitlines() if r.startswith(str(source) + " ")]
    assert len(rows) == 1, done.stdout
    return rows[0], done.stdout


def test_status_shows_exactly_what_is_unsent_while_the_collector_is_down(lab: Lab) -> None:
    app = app_log(lab, "svc")
    append(app, range(0, 5000))
    collector, url, received = lab.watched("scribe")
    state = lab.directory / "ship.state"
    shipper = lab.shipper(*fast("--from", str(app), "--to", url, "--state", str(state)))
    assert received.wait_all(range(5000)), shipper.diagnostics()
    row, _ = status_row(state, app)
    assert row[3:5] == ["0", "0"], "caught up: nothing behind"

    collector.kill()
    behind = append(app, range(5000, 8000))
    status_file = lab.directory / "ship.state.status"
    assert wait_until(lambda: running(status_file).get("retries", 0) > 0), shipper.diagnostics()
    row, text = status_row(state, app)
    # SOURCE FILE OFFSET BYTES-BEHIND LINES-BEHIND GAPS
    assert row[1:5] == [str(app), str(app.stat().st_size - behind), str(behind), "3000"], text
    assert "collector down for" in text and f"pid {shipper.pid} (running)" in text
    assert running(status_file)["sources"][0]["bytes_behind"] == behind

    collector, _ = lab.collector("scribe", port=collector.port)
    received.watch(collector)
    assert received.wait_all(range(8000)), shipper.diagnostics()
    assert wait_until(lambda: status_row(state, app)[0][3:5] == ["0", "0"], timeout=10)
    assert shipper.terminate() == 0
    assert check_lines(received.messages, range(8000)) <= 1000


# -- 5: usage errors ----------------------------------------------------------------------


#: A state entry that is valid JSON of the right version, with an offset no file can have.
NEGATIVE_OFFSET = (
    '{"version": 1, "sources": {"/x": {"dev": 1, "ino": 2, "fp": "ab", "fp_len": 3, "name": "/x", "offset": -5}}}'
)


@pytest.mark.parametrize(
    ("args", "state_text", "says"),
    [
        (["--from", "{log}", "--to", "scribe://127.0.0.1:1463", "--bogus"], None, "unrecognized arguments: --bogus"),
        (["--from", "{log}", "--to", "scribe://127.0.0.1:1463", "--batch-lines", "0"], None, "must be > 0"),
        (["--from", "{log}", "--to", "ftp://collector/in"], None, "--to 'ftp://collector/in'"),
        (["--from", "{log}", "--to", "scribe://127.0.0.1:notaport"], None, "notaport"),
        (["--from", "{log}", "--to", "http://127.0.0.1:9/in?bogus=1"], None, "bogus"),
        (["--to", "scribe://127.0.0.1:1463"], None, "--from and --to are required"),
        (["--from", "{log}", "--to", "scribe://127.0.0.1:1463"], '{"version": 1, "sources": {', "cannot read it"),
        (["--from", "{log}", "--to", "scribe://127.0.0.1:1463"], '{"version": 7, "sources": {}}', "not a logmagic"),
        (["--status"], "[1, 2, 3]", "not a logmagic ship state"),
        (["--from", "{log}", "--to", "scribe://127.0.0.1:1463"], NEGATIVE_OFFSET, "malformed entry: offset -5"),
        (["--from", "{log}", "--to", "scribe://127.0.0.1:1463", "--poll", "inf"], None, "'inf' must be > 0"),
        (["--from", "{log}", "--to", "scribe://127.0.0.1:1463", "--stop-timeout", "inf"], None, "'inf' must be > 0"),
        (["--from", "{log}", "--to", "scribe://127.0.0.1:1463", "--rescan", "1e12"], None, "at most 86400"),
        (["--from", "{log}", "--to", "scribe://127.0.0.1:1463?timeout=-1"], None, "timeout must be"),
        (["--from", "{log}", "--to", "http://127.0.0.1:9/in?timeout=abc"], None, "timeout must be"),
    ],
    ids=[
        "flag",
        "batch-lines",
        "scheme",
        "port",
        "http-option",
        "no-from",
        "torn-state",
        "state-version",
        "status",
        "negative-offset",
        "poll-inf",
        "stop-timeout-inf",
        "rescan-huge",
        "scribe-timeout",
        "http-timeout",
    ],
)
def test_a_usage_error_is_one_line_on_stderr_and_exit_2(
    lab: Lab, args: list[str], state_text: str | None, says: str
) -> None:
    log = lab.directory / "app.log"
    append(log, range(10))
    state = lab.directory / "ship.state"
    if state_text is not None:
        state.write_text(state_text)
    done = run_ship(*(a.replace("{log}", str(log)) for a in args), "--state", str(state))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.endswith("\n") and done.stderr.count("\n") == 1, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
    if state_text is not None:
        assert state.read_text() == state_text, "a state file that cannot be used is left as it is"
    else:
        assert not state.exists()


# -- 6: back-pressure ---------------------------------------------------------------------


@pytest.mark.slow
def test_memory_stays_flat_while_the_collector_is_down_and_the_source_grows_50_mb(lab: Lab) -> None:
    app = app_log(lab, "svc")
    append(app, range(0, 1000))
    collector, url, received = lab.watched("scribe")
    state = lab.directory / "ship.state"
    shipper = lab.shipper(*fast("--from", str(app), "--to", url, "--state", str(state)))
    assert received.wait_all(range(1000)), shipper.diagnostics()
    collector.kill()

    seq, grown, samples = 1000, 0, []
    step = 5 << 20
    while grown < 50 << 20:
        count = step // 145  # about 145 bytes per line on average
        grown += append(app, range(seq, seq + count))
        seq += count
        time.sleep(0.2)  # the shipper reads what it may and retries the held batch
        samples.append(rss_kb(shipper.pid))
    status_file = lab.directory / "ship.state.status"
    assert wait_until(lambda: running(status_file)["sources"][0]["bytes_behind"] >= grown, timeout=10)
    assert running(status_file)["retries"] > 0
    first, peak = samples[0], max(samples)
    # One batch is held (--batch-bytes, 1 MiB by default); 50 MB read ahead would show.
    assert peak - first < 16 * 1024, f"RSS grew from {first} to {peak} KiB while 50 MB were waiting"
    assert peak < 100 * 1024, f"peak RSS {peak} KiB"
    assert shipper.terminate() == 0
