"""``-F``: reading on as lines are written, across svlogd's rotation and logrotate's."""

from __future__ import annotations

import gzip
import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import pytest

from logmagic.tools.logfiles.compressed import read_whole
from logmagic.tools.logfiles.follow import FOLLOW_READ, Follower
from logmagic.tools.logfiles.streams import MAX_LINE

from ...conftest import require
from .helpers import CHAINSAW, chainsaw, env_without_color, jl, unprivileged, write_lines
from .test_svlogd_input import unreadable_in_the_middle


class Following:
    """A running ``gelf-chainsaw -F``, its stdout lines collected by a thread."""

    def __init__(self, *args: str | Path, wrapper: Sequence[str] = ()) -> None:
        self.proc = subprocess.Popen(
            [*wrapper, *CHAINSAW, "-F", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env_without_color(),
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        assert self.proc.stdout is not None
        self.reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self.reader.start()

    def _read(self, stdout: IO[bytes]) -> None:
        for line in stdout:
            self.lines.put(line.rstrip(b"\n"))

    def take(self, n: int, timeout: float = 10.0) -> list[bytes]:
        """The next ``n`` lines, or fewer when they do not come within ``timeout`` seconds."""
        got: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(got) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                got.append(self.lines.get(timeout=left))
            except queue.Empty:
                break
        return got

    def quiet(self, seconds: float) -> list[bytes]:
        """Whatever else arrives within ``seconds`` (should be nothing)."""
        return self.take(1_000_000, timeout=seconds)

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        assert self.proc.stderr is not None
        err = self.proc.stderr.read().decode("utf-8", "replace")
        self.proc.stderr.close()
        assert self.proc.stdout is not None
        self.reader.join(timeout=5)
        self.proc.stdout.close()
        return err


@pytest.fixture
def following() -> Iterator[list[Following]]:
    started: list[Following] = []
    yield started
    for f in started:
        if f.proc.poll() is None:
            f.stop()


class Svlogd:
    """A real svlogd writing to ``logdir``, fed by this test."""

    def __init__(self, logdir: Path, size: int = 4000, processor: str = "") -> None:
        logdir.mkdir()
        (logdir / "config").write_text(f"s{size}\nn100\n{processor}")
        self.logdir = logdir
        self.proc = subprocess.Popen([require("svlogd"), "-tt", str(logdir)], stdin=subprocess.PIPE)

    def write(self, *lines: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"".join(line + b"\n" for line in lines))
        self.proc.stdin.flush()

    def wait_for(self, size: int, timeout: float = 5.0) -> None:
        """Until ``current`` holds at least ``size`` bytes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if (self.logdir / "current").stat().st_size >= size:
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        raise AssertionError(f"svlogd did not write {size} bytes to current")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(params=["", "!gzip\n"], ids=["plain", "gzip-processor"])
def svlogd_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Svlogd]:
    """svlogd as most run it, and with a processor that compresses each file it rotates."""
    logger = Svlogd(tmp_path / "main", processor=request.param)
    yield logger
    if logger.proc.poll() is None:
        logger.close()


def rec(i: int, level: int, pad: int = 0) -> bytes:
    return jl({"version": "1.1", "short_message": f"event {i}", "level": level, "_i": i, "_pad": "p" * pad})


def test_follow_an_svlogd_directory_across_rotation(svlogd_dir: Svlogd, following: list[Following]) -> None:
    first = rec(0, 3)
    svlogd_dir.write(first, rec(1, 6))
    svlogd_dir.wait_for(2 * len(first))
    f = Following("-o", "json", "level<=err", svlogd_dir.logdir)
    following.append(f)
    assert f.take(1) == [first]  # what is already there comes first

    expected = []
    for i in range(2, 22, 2):
        match, other = rec(i, 3 if i % 4 else 2, pad=1200 + 37 * i), rec(i + 1, 6, pad=700)
        svlogd_dir.write(match, b"not json " * 20, other)
        expected.append(match)
        time.sleep(0.4)  # a rotation or less between two looks of the follower
    assert f.take(len(expected)) == expected
    assert f.quiet(0.5) == []

    rotated = [read_whole(p) for p in sorted(svlogd_dir.logdir.glob("@*.s"))]
    assert len(rotated) >= 4
    assert any(not data.endswith(b"\n") for data in rotated), "a line should have been split by rotation"
    assert f.stop() == ""


def test_follow_loses_nothing_when_svlogd_rotates_several_times_between_two_looks(
    svlogd_dir: Svlogd, following: list[Following]
) -> None:
    first = rec(0, 3)
    svlogd_dir.write(first)
    svlogd_dir.wait_for(len(first))
    f = Following("-o", "json", "level<=err", svlogd_dir.logdir)
    following.append(f)
    assert f.take(1) == [first]

    burst = [rec(i, 3, pad=1200) for i in range(1, 21)]  # about 25 KB: six rotations at once
    svlogd_dir.write(*burst)
    got = f.take(len(burst), timeout=3)
    assert [json.loads(line)["_i"] for line in got] == list(range(1, 21))


def test_follower_reads_every_file_rotated_between_two_looks_in_order(tmp_path: Path) -> None:
    """What svlogd does under a burst, done by hand: several renames of current between reads."""
    logdir = tmp_path / "main"
    logdir.mkdir()
    current = logdir / "current"
    current.write_bytes(b"a\n")
    old = logdir / "@400000006b0398b400000001.s"
    write_lines(old, [b"old"])
    follower = Follower(current, directory=logdir, seen={old.name}, report=pytest.fail)
    assert follower.read() == b"a\n"
    with open(current, "ab") as f:
        f.write(b"b\nc-")  # the last line is split by the rotation, as svlogd does
    for n, text in enumerate([b"c\nd\n", b"e\n", b"f-"], start=2):
        current.rename(logdir / f"@400000006b0398b40000000{n}.s")
        current.write_bytes(text)
    current.rename(logdir / "@400000006b0398b400000005.s")
    current.write_bytes(b"f\ng\n")
    assert follower.read() == b"b\nc-c\nd\ne\n"  # the followed file, then the rotated ones in order
    assert follower.read() == b"f-f\ng\n"  # then the new current
    assert follower.read() == b""


def test_follower_with_a_processor_reads_each_rotation_once(tmp_path: Path) -> None:
    """svlogd with ``!gzip``, step by step: ``current`` becomes ``@<stamp>.u``, the processor's
    output (a new file) ``@<stamp>.s``, then the ``.u`` goes. The output of a file read already
    is skipped, whether its ``.u`` was seen or not; a file rotated between two looks is read
    once, from its ``.u`` or from its output."""
    logdir = tmp_path / "main"
    logdir.mkdir()
    (logdir / "config").write_text("s4000\n!gzip\n")
    current = logdir / "current"
    current.write_bytes(b"a\n")
    follower = Follower(current, directory=logdir, seen=set(), report=pytest.fail)
    assert follower.read() == b"a\n"
    stamps = iter(f"@400000006b0398b40000000{n}" for n in range(1, 10))

    def rotate(text: bytes, processed: bool = True) -> str:
        stamp = next(stamps)
        current.rename(logdir / f"{stamp}.u")
        if processed:
            finish(stamp)
        current.write_bytes(text)
        return stamp

    def finish(stamp: str) -> None:
        unprocessed = logdir / f"{stamp}.u"
        (logdir / f"{stamp}.s").write_bytes(gzip.compress(unprocessed.read_bytes()))
        unprocessed.unlink()

    with open(current, "ab") as f:
        f.write(b"b\nc-")  # split by the rotation
    rotate(b"c\nd\n")  # the followed file, processed before the next look: its output is skipped
    rotate(b"e\n")  # rotated between two looks: read from its output
    third = rotate(b"f\n", processed=False)  # rotated between two looks, still being processed
    assert follower.read() == b"b\nc-c\nd\ne\n"  # the new current is read at the next look
    finish(third)  # that output is not read again
    assert follower.read() == b"f\n"
    rotate(b"g\n")
    assert follower.read() == b""
    assert follower.read() == b"g\n"
    fifth = rotate(b"h\n", processed=False)  # seen as .u this time
    assert follower.read() == b""
    finish(fifth)
    assert follower.read() == b"h\n"
    rotate(b"i\n")
    assert follower.read() + follower.read() == b"i\n"
    assert follower.read() == b""


def test_a_directory_being_processed_is_read_once_per_rotation(tmp_path: Path) -> None:
    """While the processor has written its output and not yet deleted the ``.u`` file, both
    hold the same lines: the output is read, decompressed; a ``.u`` alone is read as it is."""
    logdir = tmp_path / "main"
    logdir.mkdir()
    a, b, c = (rec(i, 6) for i in range(3))
    (logdir / "@400000006b0398b400000001.s").write_bytes(gzip.compress(a + b"\n"))
    (logdir / "@400000006b0398b400000001.u").write_bytes(a + b"\n")
    (logdir / "@400000006b0398b400000002.u").write_bytes(b + b"\n")
    (logdir / "current").write_bytes(c + b"\n")
    result = chainsaw("-o", "raw", logdir)
    assert (result.code, result.lines) == (0, [a, b, c])


def test_follower_catches_up_on_a_rotation_before_its_first_look(tmp_path: Path) -> None:
    logdir = tmp_path / "main"
    logdir.mkdir()
    current = logdir / "current"
    current.write_bytes(b"a\n")
    listed: set[str] = set()  # the directory as listed: no rotated file yet
    current.rename(logdir / "@400000006b0398b400000001.s")  # rotated before the follower opens current
    current.write_bytes(b"b\n")
    follower = Follower(current, directory=logdir, seen=listed, report=pytest.fail)
    assert follower.read() == b"a\nb\n"


def test_follow_a_file_does_not_read_stdin(tmp_path: Path) -> None:
    """With no rotated files before it, a followed file is not preceded by stdin."""
    path = write_lines(tmp_path / "app.log", [rec(0, 3)])
    proc = subprocess.Popen(
        [*CHAINSAW, "-F", "level<=err", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env_without_color(),
    )
    stdin, stdout = proc.stdin, proc.stdout
    assert stdin is not None and stdout is not None
    try:
        stdin.write(rec(1, 3) + b"\n")  # a terminal the user did not mean to read
        stdin.flush()
        lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        assert lines.get(timeout=10).rstrip(b"\n") == rec(0, 3)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        stdin.close()
        stdout.close()


def test_follow_a_file_that_logrotate_renames_and_recreates(tmp_path: Path, following: list[Following]) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(rec(0, 3) + b"\n" + rec(1, 6) + b"\n")
    f = Following("-o", "json", "level<=err", path)
    following.append(f)
    assert f.take(1) == [rec(0, 3)]

    with open(path, "ab") as old:
        old.write(rec(2, 3) + b"\n" + rec(3, 6) + b"\n")  # written just before the rotation
    os.rename(path, tmp_path / "app.log.1")
    path.write_bytes(rec(4, 3) + b"\n")  # logrotate's "create"
    assert f.take(2) == [rec(2, 3), rec(4, 3)]

    time.sleep(0.3)
    with open(path, "ab") as new:
        new.write(rec(5, 6) + b"\n" + rec(6, 2) + b"\n")
    assert f.take(1) == [rec(6, 2)]
    assert f.quiet(0.5) == []
    f.stop()


def test_follow_a_file_that_is_removed_and_comes_back(tmp_path: Path, following: list[Following]) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(rec(0, 3) + b"\n")
    f = Following("level<=err", path)
    following.append(f)
    assert f.take(1) == [rec(0, 3)]
    path.unlink()
    time.sleep(0.5)
    path.write_bytes(rec(1, 6) + b"\n" + rec(2, 3) + b"\n")
    assert f.take(1) == [rec(2, 3)]
    f.stop()


def test_follow_a_file_truncated_in_place(tmp_path: Path, following: list[Following]) -> None:
    """logrotate's copytruncate: the file shrinks and is written again from the top."""
    path = tmp_path / "app.log"
    path.write_bytes(b"".join(rec(i, 3, pad=200) + b"\n" for i in range(5)))
    f = Following("level<=err", path)
    following.append(f)
    assert len(f.take(5)) == 5
    with open(path, "r+b") as handle:
        handle.truncate(0)
    time.sleep(0.5)
    with open(path, "ab") as handle:
        handle.write(rec(9, 3) + b"\n")
    assert f.take(1) == [rec(9, 3)]
    f.stop()


def test_follow_prints_a_line_split_between_the_last_rotated_file_and_current(
    tmp_path: Path, following: list[Following]
) -> None:
    logdir = tmp_path / "main"
    logdir.mkdir()
    (logdir / "@400000006b0398b400000001.s").write_bytes(b'{"level":3,"i":1}\n{"level":3,"s":"ab')
    (logdir / "current").write_bytes(b'cd","i":2}\n')
    f = Following("level<=err", logdir)
    following.append(f)
    assert f.take(2) == [b'{"level":3,"i":1}', b'{"level":3,"s":"abcd","i":2}']
    with open(logdir / "current", "ab") as handle:
        handle.write(b'{"level":3,"i":3,')
        handle.flush()
        time.sleep(0.5)  # the follower sees half a line: it must wait for the rest
        handle.write(b'"s":"x"}\n')
    assert f.take(1) == [b'{"level":3,"i":3,"s":"x"}']
    err = f.stop()
    assert "Traceback" not in err


@pytest.mark.parametrize(("how", "reason"), [("mode 000", "Permission denied"), ("I/O error", "Input/output error")])
def test_follow_goes_on_after_an_unreadable_file(
    tmp_path: Path, following: list[Following], how: str, reason: str
) -> None:
    """The file is named once; the directory's other files and the other paths are still followed."""
    bad = unreadable_in_the_middle(tmp_path / "main", how)
    other = write_lines(tmp_path / "app.log", [b'{"i":6}'])
    f = Following("-o", "json", tmp_path / "main", other, wrapper=unprivileged() if how == "mode 000" else ())
    following.append(f)
    assert f.take(4) == [b'{"i":1}', b'{"i":4}', b'{"i":5}', b'{"i":6}']
    with open(tmp_path / "main" / "current", "ab") as current, open(other, "ab") as app:
        current.write(b'{"i":7}\n')
        app.write(b'{"i":8}\n')
    assert sorted(f.take(2)) == [b'{"i":7}', b'{"i":8}']
    err = f.stop()
    assert err.splitlines() == [f"gelf-chainsaw: {bad}: {reason}"]


def test_follower_reports_an_unreadable_file_rotated_while_following(tmp_path: Path) -> None:
    """A rotated file it cannot read is reported, and the line that ran into it dropped."""
    logdir = tmp_path / "main"
    logdir.mkdir()
    current = logdir / "current"
    current.write_bytes(b"a\nb-")
    errors: list[str] = []
    follower = Follower(current, directory=logdir, seen=set(), report=errors.append)
    assert follower.read() == b"a\n"
    current.rename(logdir / "@400000006b0398b400000001.s")
    (logdir / "@400000006b0398b400000002.s").symlink_to("/proc/self/mem")  # reading it fails (EIO)
    (logdir / "@400000006b0398b400000003.s").write_bytes(b"c\n")
    current.write_bytes(b"d\n")
    assert follower.read() == b"c\n"  # the rotated files, then the new current
    assert follower.read() == b"d\n"
    assert errors == [f"{logdir / '@400000006b0398b400000002.s'}: Input/output error"]


def test_follow_reads_a_gz_file_once_through_gzip(tmp_path: Path, following: list[Following]) -> None:
    """A .gz file is not written to any more: it is read decompressed and not followed."""
    older = tmp_path / "app.log.1.gz"
    with gzip.open(older, "wb") as f:
        f.write(rec(0, 3) + b"\n" + rec(1, 6) + b"\n" + rec(2, 3))  # the last line without newline
    path = write_lines(tmp_path / "app.log", [rec(3, 3)])
    f = Following("-o", "json", "level<=err", older, path)
    following.append(f)
    assert f.take(3) == [rec(0, 3), rec(2, 3), rec(3, 3)]
    with open(path, "ab") as handle:
        handle.write(rec(4, 3) + b"\n")
    assert f.take(1) == [rec(4, 3)]
    assert f.stop() == ""


def test_follower_cuts_an_over_long_line(tmp_path: Path) -> None:
    """Memory stays flat on a followed file with no newline: the line is cut at MAX_LINE."""
    path = tmp_path / "app.log"
    path.write_bytes(b"a\n" + b"\0" * (MAX_LINE + FOLLOW_READ))
    follower = Follower(path, pytest.fail)
    got = b""
    for _ in range(6):
        got += follower.read()
        assert len(follower.lines.pending) <= MAX_LINE
    with open(path, "ab") as f:
        f.write(b"\0\0\nb\n")
    got += follower.read()
    assert got == b"a\n" + b"\0" * MAX_LINE + b"\nb\n"


@pytest.mark.parametrize(("how", "reason"), [("mode 000", "Permission denied"), ("I/O error", "Input/output error")])
def test_follow_reports_a_followed_file_it_cannot_read_once_and_follows_the_others(
    tmp_path: Path, following: list[Following], how: str, reason: str
) -> None:
    bad = tmp_path / "bad.log"
    if how == "mode 000":
        bad.write_bytes(rec(0, 3) + b"\n")
        bad.chmod(0)
    else:
        bad.symlink_to("/proc/self/mem")  # opens, but reading it fails (EIO), also for root
    other = write_lines(tmp_path / "app.log", [rec(1, 3)])
    f = Following("-o", "json", bad, other, wrapper=unprivileged() if how == "mode 000" else ())
    following.append(f)
    assert f.take(1) == [rec(1, 3)]
    time.sleep(0.5)  # a few more looks at the bad file
    with open(other, "ab") as app:
        app.write(rec(2, 3) + b"\n")
    assert f.take(1) == [rec(2, 3)]
    assert f.stop().splitlines() == [f"gelf-chainsaw: {bad}: {reason}"]
