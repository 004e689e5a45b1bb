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
