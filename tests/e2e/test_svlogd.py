"""Production path end to end: GELF on stderr of a real process, through real svlogd, to disk."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from ..conftest import require

APP = """
import logmagic
log = logmagic.local("e2e.app")
for i in range(3000):
    pad = "y" * (2500 if i % 10 == 0 else 50)  # some lines longer than svlogd's 1000
    log.info("request done", i=i, pad=pad, note="tab\\tnewline\\nquote\\"")
    if i % 500 == 0:
        try:
            raise ValueError(f"boom {i}")
        except ValueError:
            log.exception("failed", i=i)
"""

# svlogd -tt prefixes each line with "2026-11-22_06:28:03.46035 ".
PREFIX = re.compile(rb"^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} ")


def test_every_record_reaches_svlogds_files_as_one_valid_gelf_line(tmp_path: Path) -> None:
    svlogd = require("svlogd")
    logdir = tmp_path / "log"
    logdir.mkdir()
    (logdir / "config").write_text("s200000\nn100\n")  # rotate often, keep every file
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    logger = subprocess.Popen([svlogd, "-tt", str(logdir)], stdin=subprocess.PIPE)
    assert logger.stdin is not None
    app = subprocess.run([sys.executable, "-c", APP], env=env, stderr=logger.stdin, timeout=120)
    logger.stdin.close()
    assert logger.wait(timeout=60) == 0
    assert app.returncode == 0

    rotated = sorted(logdir.glob("@*"))
    assert rotated, "the size limit should have rotated the log at least once"
    data = b"".join(p.read_bytes() for p in [*rotated, logdir / "current"])
    lines = data.split(b"\n")
    assert lines[-1] == b""
    records = []
    for line in lines[:-1]:
        match = PREFIX.match(line)
        assert match, line[:80]
        records.append(json.loads(line[match.end() :]))
    infos = [r for r in records if r["short_message"] == "request done"]
    failures = [r for r in records if r["short_message"] == "failed"]
    assert [r["_i"] for r in infos] == list(range(3000))
    assert [r["_i"] for r in failures] == list(range(0, 3000, 500))
    assert all(r["_note"] == 'tab\tnewline\nquote"' for r in infos)
    assert all("ValueError: boom" in r["full_message"] and r["level"] == 3 for r in failures)
    assert {r["_facility"] for r in records} == {"e2e.app"}


THREADS_APP = """
import os, sys, threading, logmagic
big = sys.argv[1] == "big"
procs = 1 if big else 2
for _ in range(procs - 1):
    if os.fork() == 0:
        break
log = logmagic.local("e2e.threads")
def work(t):
    for i in range(1500):
        # Lines up to ~3 KB go out without the sink lock; with "big", every 7th is over
        # PIPE_BUF and takes the lock. Pipes keep only writes up to PIPE_BUF whole between
        # processes, so the two-process run keeps its lines below it.
        size = 6000 if big and i % 7 == 0 else (i * 37) % 3000
        log.info("m", pid=os.getpid(), t=t, i=i, pad="z" * size)
threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
for th in threads:
    th.start()
for th in threads:
    th.join()
"""


def _svlogd_records(svlogd: str, tmp_path: Path, mode: str) -> list[dict[str, object]]:
    logdir = tmp_path / f"log-{mode}"
    logdir.mkdir()
    (logdir / "config").write_text("s100000000\n")  # svlogd splits lines over 1000 bytes unless told
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    logger = subprocess.Popen([svlogd, "-tt", "-l", "0", str(logdir)], stdin=subprocess.PIPE)
    assert logger.stdin is not None
    app = subprocess.run([sys.executable, "-c", THREADS_APP, mode], env=env, stderr=logger.stdin, timeout=120)
    logger.stdin.close()
    assert logger.wait(timeout=60) == 0
    assert app.returncode == 0
    lines = (logdir / "current").read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = []
    for line in lines[:-1]:
        match = PREFIX.match(line)
        assert match, line[:80]
        records.append(json.loads(line[match.end() :]))
    return records


def test_threads_of_one_process_write_whole_lines_through_svlogd_small_and_big(tmp_path: Path) -> None:
    records = _svlogd_records(require("svlogd"), tmp_path, "big")
    assert sorted((r["_t"], r["_i"]) for r in records) == [(t, i) for t in range(4) for i in range(1500)]
    assert sum(len(r["_pad"]) == 6000 for r in records) == 4 * len(range(0, 1500, 7))


def test_threads_of_two_processes_write_whole_lines_through_svlogd(tmp_path: Path) -> None:
    records = _svlogd_records(require("svlogd"), tmp_path, "small")
    pids = {r["_pid"] for r in records}
    assert len(pids) == 2
    expected = sorted((p, t, i) for p in pids for t in range(4) for i in range(1500))
    assert sorted((r["_pid"], r["_t"], r["_i"]) for r in records) == expected
