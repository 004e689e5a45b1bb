"""Directories written by a real svlogd: rotation inside long lines, timestamp prefixes, bad lines."""

from __future__ import annotations

import datetime
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logmagic.tools.logfiles.compressed import read_whole
from logmagic.tools.logfiles.streams import Stream, blocks

from ...conftest import require
from .helpers import chainsaw, unprivileged, write_lines

PAST, FUTURE = 1_000_000_000.5, 4_000_000_000.5


def generate(rng: random.Random, start: int, n: int) -> list[tuple[bytes, dict[str, object] | None]]:
    """``n`` lines: GELF records (some far longer than svlogd's 1000-byte line limit) and junk."""
    out: list[tuple[bytes, dict[str, object] | None]] = []
    for i in range(start, start + n):
        kind = rng.random()
        if kind < 0.08:
            junk = rng.choice([b"plain text from a crashing process", b"[1, 2, 3]", b'{"broken": ', b"42"])
            out.append((junk, None))
            continue
        if kind < 0.10:
            out.append((b"Traceback (most recent call last): " + b"z" * rng.randint(1000, 3000), None))
            continue
        rec: dict[str, object] = {
            "version": "1.1",
            "host": "api0",
            "short_message": rng.choice(["request done", "caf\u00e9 \u2713", 'quote " and \\ backslash']),
            "level": rng.randint(0, 7),
            "_facility": "app.api",
            "_i": i,
        }
        if rng.random() < 0.15:
            rec["full_message"] = 'Traceback (most recent call last):\n  File "x.py"\nValueError: boom\n' * 20
        if rng.random() < 0.15:
            rec["_pad"] = "y" * rng.randint(1000, 3500)
        if rng.random() < 0.2:
            rec["timestamp"] = rng.choice([PAST, FUTURE])  # the record's own time beats the prefix
        spaced = rng.random() < 0.3
        text = json.dumps(rec, ensure_ascii=False) if spaced else json.dumps(rec, separators=(",", ":"))
        out.append((text.encode(), rec))
    return out


@pytest.mark.parametrize(("stamp", "processor"), [("-t", ""), ("-tt", ""), ("-ttt", ""), ("-tt", "!gzip\n")], ids=str)
def test_a_real_svlogd_directory(tmp_path: Path, stamp: str, processor: str) -> None:
    """svlogd as it runs in production, also with a processor that compresses what it rotates."""
    svlogd = require("svlogd")
    logdir = tmp_path / "main"
    logdir.mkdir()
    (logdir / "config").write_text(f"s4000\nn100\n{processor}")
    rng = random.Random(f"svlogd{stamp}")
    before = generate(rng, 0, 120)
    after = generate(rng, 120, 120)

    proc = subprocess.Popen([svlogd, stamp, str(logdir)], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(b"".join(line + b"\n" for line, _ in before))
    proc.stdin.flush()
    time.sleep(0.6)
    cut = time.time()
    time.sleep(0.6)
    proc.stdin.write(b"".join(line + b"\n" for line, _ in after))
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0

    rotated = sorted(logdir.glob("@*"))
    assert len(rotated) >= 5, "the small size limit should rotate often"
    assert any(not read_whole(p).endswith(b"\n") for p in rotated), "some line should be split by rotation"
    assert all(p.name.endswith(".s") for p in rotated)
    assert all(read_whole(p) != p.read_bytes() for p in rotated) == bool(processor), "gzip when processed"

    everything = before + after
    json_lines = [line for line, rec in everything if rec is not None]
    bad = sum(1 for _, rec in everything if rec is None)

    result = chainsaw("-o", "json", logdir)
    assert result.code == 0
    assert result.lines == json_lines  # whole, in order, prefix removed
    assert len(result.err_lines) == 1
    assert str(bad) in result.err_lines[0].split()

    errors = chainsaw("level<=err", logdir)
    assert errors.lines == [line for line, rec in everything if rec is not None and rec["level"] <= 3]

    def when(rec: dict[str, object], batch_is_after: bool) -> bool:
        """Whether the record is after the cut: its own time, else svlogd's stamp."""
        ts = rec.get("timestamp")
        return ts == FUTURE if ts is not None else batch_is_after

    later = [
        line
        for batch, is_after in ((before, False), (after, True))
        for line, rec in batch
        if rec and when(rec, is_after)
    ]
    earlier = [
        line
        for batch, is_after in ((before, False), (after, True))
        for line, rec in batch
        if rec and not when(rec, is_after)
    ]
    assert later and earlier
    since = chainsaw("-o", "json", "--since", f"{cut:.3f}", logdir)
    assert since.lines == later
    iso = datetime.datetime.fromtimestamp(cut, datetime.timezone.utc).isoformat()
    until = chainsaw("-o", "json", "--until", iso, logdir)
    assert until.lines == earlier


def test_rotated_files_in_name_order_then_current_as_one_stream(tmp_path: Path) -> None:
    """Name order is time order (TAI64N); modification times are not trusted. ``.u`` files count."""
    logdir = tmp_path / "main"
    logdir.mkdir()
    first = logdir / "@400000006b0398b400000001.s"
    second = logdir / "@400000006b0398b400000002.u"
    current = logdir / "current"
    first.write_bytes(
        b'2026-11-22_06:28:01.00000 {"i":1,"level":3}\n2026-11-22_06:28:02.00000 {"i":2,"level":3,"s":"ab'
    )
    second.write_bytes(b'cd"}\n2026-11-22_06:28:03.00000 {"i":3,"level":6,"s":"ef')
    current.write_bytes(b'gh"}\n2026-11-22_06:28:04.00000 {"i":4,"level":3}\n')
    for age, path in enumerate((current, second, first)):  # oldest file gets the newest mtime
        stamp = 1_800_000_000 + 100 * age
        os.utime(path, (stamp, stamp))
    (logdir / "lock").write_bytes(b"")
    (logdir / "state").write_bytes(b"x" * 64)
    result = chainsaw("-o", "json", logdir)
    assert result.lines == [
        b'{"i":1,"level":3}',
        b'{"i":2,"level":3,"s":"abcd"}',
        b'{"i":3,"level":6,"s":"efgh"}',
        b'{"i":4,"level":3}',
    ]
    assert result.err == ""
    assert chainsaw("level<=err", "s=abcd", logdir).lines == [b'{"i":2,"level":3,"s":"abcd"}']
    since = chainsaw("--since", "2026-11-22T06:28:02.5Z", "--until", "2026-11-22T06:28:03.5Z", logdir)
    assert since.lines == [b'{"i":3,"level":6,"s":"efgh"}']


def test_a_directory_with_only_rotated_files(tmp_path: Path) -> None:
    logdir = tmp_path / "main"
    logdir.mkdir()
    write_lines(logdir / "@400000006b0398b400000001.s", [b'{"i":1}'])
    assert chainsaw(logdir).lines == [b'{"i":1}']


def test_blocks_hold_whole_lines_even_longer_than_the_buffer(tmp_path: Path) -> None:
    lines = [b"x" * n for n in (3, 70, 5, 200, 0, 16, 15, 17, 1)]
    first = write_lines(tmp_path / "@400000006b0398b400000001.s", lines[:4])
    second = tmp_path / "current"
    second.write_bytes(b"\n".join(lines[4:]))  # no newline at the very end
    got = [bytes(block) for block in blocks(Stream("x", [first, second]), pytest.fail, size=16)]
    assert b"".join(got) == b"\n".join(lines)
    assert all(block.endswith(b"\n") for block in got[:-1])
    assert got[-1] == lines[-1]


def unreadable_in_the_middle(logdir: Path, how: str) -> Path:
    """An svlogd directory whose second rotated file cannot be read; the first ends mid-line.

    ``mode 000``: opening it fails (run the command with ``unprivileged()``). ``I/O error``: it
    opens but reading fails, also for root: a link to /proc/self/mem, whose first page (address
    0) is never mapped, so reading it gives EIO.
    """
    logdir.mkdir()
    (logdir / "@400000006b0398b400000001.s").write_bytes(b'{"i":1}\n{"i":2,"s":"ab')
    bad = logdir / "@400000006b0398b400000002.s"
    if how == "mode 000":
        bad.write_bytes(b'cd"}\n{"i":3}\n')
        bad.chmod(0)
    else:
        bad.symlink_to("/proc/self/mem")
    (logdir / "@400000006b0398b400000003.s").write_bytes(b'{"i":4}\n')
    (logdir / "current").write_bytes(b'{"i":5}\n')
    return bad


@pytest.mark.parametrize(("how", "reason"), [("mode 000", "Permission denied"), ("I/O error", "Input/output error")])
def test_an_unreadable_file_in_the_middle_of_a_directory(tmp_path: Path, how: str, reason: str) -> None:
    """It is named in one line; the line that ran into it is dropped; the next files are read."""
    bad = unreadable_in_the_middle(tmp_path / "main", how)
    result = chainsaw("-o", "json", tmp_path / "main", wrapper=unprivileged() if how == "mode 000" else ())
    assert result.code == 2
    assert result.lines == [b'{"i":1}', b'{"i":4}', b'{"i":5}']
    assert result.err_lines == [f"gelf-chainsaw: {bad}: {reason}"]


def test_an_over_long_line_is_cut_and_the_rest_of_it_skipped(tmp_path: Path) -> None:
    first = tmp_path / "@400000006b0398b400000001.s"
    first.write_bytes(b"a\n" + b"x" * 30)
    second = tmp_path / "current"
    second.write_bytes(b"y" * 50 + b"\nb\n" + b"z" * 45 + b"\nc")
    got = b"".join(bytes(block) for block in blocks(Stream("x", [first, second]), pytest.fail, 16, 40))
    assert got.split(b"\n") == [b"a", b"x" * 30 + b"y" * 10, b"b", b"z" * 40, b"c"]


def test_memory_stays_flat_on_input_without_newlines(tmp_path: Path) -> None:
    """A file that copytruncate left sparse: 300 MB of NUL bytes and no newline in them."""
    path = tmp_path / "app.log"
    with open(path, "wb") as f:
        f.write(b'{"i":1}\n')
        f.truncate(300_000_000)
        f.seek(0, os.SEEK_END)
        f.write(b'\n{"i":2}\n')
    # The command reports its own peak (VmHWM counts from its exec, whatever the size of the
    # pytest process that started it; a child's ru_maxrss would include that).
    peak_file = tmp_path / "peak"
    run = (
        "import sys; from logmagic.tools.chainsaw.cli import main; rc = main(sys.argv[2:]); "
        "status = open('/proc/self/status').read(); "
        "open(sys.argv[1], 'w').write(status.split('VmHWM:')[1].split()[0]); sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", run, str(peak_file), "-o", "json", str(path)], capture_output=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b'{"i":1}\n{"i":2}\n'
    assert proc.stderr == b"gelf-chainsaw: skipped 1 line(s) that are not JSON objects\n"
    peak_kib = int(peak_file.read_text())
    assert peak_kib < 150_000, f"peak RSS {peak_kib} KiB"  # 16 MiB lines, not 300 MB
