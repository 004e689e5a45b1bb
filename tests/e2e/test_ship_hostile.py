"""``logmagic ship`` over directories that other users write, end to end.

A service's log user can put anything in its log directory: a FIFO, a link to ``/etc/shadow``
or ``/dev/zero``, a file of another user, a hard link, and the shipper runs as root over all
services at once. Each test runs the real shipper against a real collector and checks that
every line of the other files arrives, nothing of the planted ones does, and each planted
file is named once in a WARNING record. ``ulimit -n`` against many files, and state files
that are FIFOs or links, are here too. No assert is on wall time; time limits only stop a
test that would otherwise hang (an ``open`` on a FIFO blocks for ever).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .line_writer import line
from .shipping import Lab, Shipper, check_lines, run_ship

#: Seconds to wait for lines that should arrive at once (a shipper that hangs never sends them).
ARRIVAL_TIMEOUT = 20.0
#: A user id that owns nothing here (Debian's ``nobody``).
OTHER = 65534


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path)
    yield lab
    lab.close()


def fast(*args: str) -> tuple[str, ...]:
    return ("--poll", "0.05", "--max-backoff", "0.3", *args)


def rotated(n: int) -> str:
    return f"@4000000065{n:014x}.s"


def service(root: Path, name: str, seqs: range) -> Path:
    """An svlogd directory as svlogd leaves it: the first half of ``seqs`` in a rotated file,
    the rest in ``current``."""
    logdir = root / name
    logdir.mkdir(parents=True)
    half = seqs.start + len(seqs) // 2
    (logdir / rotated(0)).write_bytes(b"".join(line(s) for s in range(seqs.start, half)))
    (logdir / "current").write_bytes(b"".join(line(s) for s in range(half, seqs.stop)))
    return logdir


def warnings(shipper: Shipper) -> list[str]:
    return [str(r["short_message"]) for r in shipper.log() if r["level"] == 4]


def test_a_fifo_in_one_log_directory_does_not_stop_the_others(lab: Lab) -> None:
    logs = lab.directory / "service"
    api = service(logs, "api", range(0, 1000))
    web = service(logs, "web", range(1000, 2000))
    os.mkfifo(api / rotated(1))  # between the rotated file and current: read before current
    os.mkfifo(logs / "api.log")  # a glob over plain files meets one too
    _, url, received = lab.watched("scribe")
    state = lab.directory / "ship.state"
    shipper = lab.shipper(*fast("--from", str(logs / "*"), "--to", url, "--state", str(state)))
    assert received.wait_all(range(2000), timeout=ARRIVAL_TIMEOUT), shipper.diagnostics()
    with open(web / "current", "ab") as f:
        f.write(b"".join(line(s) for s in range(2000, 2100)))
    assert received.wait_all(range(2100), timeout=ARRIVAL_TIMEOUT), shipper.diagnostics()
    assert shipper.terminate() == 0
    assert check_lines(received.messages, range(2100)) == 0
    assert sorted(warnings(shipper)) == [
        f"{logs / 'api.log'}: not a regular file; not shipped",
        f"{api / rotated(1)}: not a regular file; not shipped",
    ], "one warning per FIFO, however many polls saw it"


def test_links_to_secrets_and_devices_are_never_sent(lab: Lab) -> None:
    secret = lab.directory / "shadow"
    secret.write_bytes(b"root:$6$secret-hash:19000:0:99999:7:::\n")
    logs = lab.directory / "service"
    api = service(logs, "api", range(0, 1000))
    (api / rotated(1)).symlink_to(secret)
    (api / rotated(2)).symlink_to("/dev/zero")
    app = lab.directory / "plain"
    app.mkdir()
    (app / "app.log").write_bytes(b"".join(line(s) for s in range(1000, 1100)))
    (app / "zero.log").symlink_to("/dev/zero")
    _, url, received = lab.watched("scribe")
    state = lab.directory / "ship.state"
    args = fast("--from", str(api), "--from", str(app / "*.log"), "--to", url, "--state", str(state))
    shipper = lab.shipper(*args)
    assert received.wait_all(range(1100), timeout=ARRIVAL_TIMEOUT), shipper.diagnostics()
    time.sleep(1.0)  # many looks at the links (--poll 0.05): still one warning each
    assert shipper.terminate() == 0
    assert check_lines(received.messages, range(1100)) == 0, "nothing but the log lines arrived"
    assert sorted(warnings(shipper)) == sorted(
        f"{path}: a symbolic link; not shipped" for path in (api / rotated(1), api / rotated(2), app / "zero.log")
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="making files of another user needs root")
@pytest.mark.parametrize("allow", [False, True])
def test_files_of_another_user_and_hard_links_are_refused_unless_allowed(lab: Lab, allow: bool) -> None:
    logs = lab.directory / "service"
    api = service(logs, "api", range(0, 1000))
    foreign = api / rotated(1)
    foreign.write_bytes(b"".join(line(s) for s in range(1000, 1100)))
    os.chown(foreign, OTHER, OTHER)
    outside = lab.directory / "outside.log"
    outside.write_bytes(b"".join(line(s) for s in range(1100, 1200)))
    os.link(outside, api / rotated(2))
    _, url, received = lab.watched("scribe")
    state = lab.directory / "ship.state"
    flags = ("--allow-foreign-owner", "--allow-hard-links") if allow else ()
    shipper = lab.shipper(*fast("--from", str(api), "--to", url, "--state", str(state), *flags))
    expected = range(1200) if allow else range(1000)
    assert received.wait_all(expected, timeout=ARRIVAL_TIMEOUT), shipper.diagnostics()
    with open(api / "current", "ab") as f:  # lines after the refused files still come
        f.write(b"".join(line(s) for s in range(5000, 5010)))
    assert received.wait_all(range(5000, 5010), timeout=ARRIVAL_TIMEOUT), shipper.diagnostics()
    assert shipper.terminate() == 0
    assert sorted(json.loads(m)["seq"] for m in received.messages) == [*expected, *range(5000, 5010)]
    if allow:
        assert warnings(shipper) == []
    else:
        assert sorted(warnings(shipper)) == [
            f"{foreign}: owned by uid {OTHER}, not by its directory's owner, uid 0"
            " (--allow-foreign-owner); not shipped",
            f"{api / rotated(2)}: has 2 hard links (--allow-hard-links); not shipped",
        ]


@pytest.mark.slow
def test_10000_files_ship_completely_under_ulimit_n_256(lab: Lab) -> None:
    """Each file kept its descriptor for good: past the limit, files were never opened."""
    logs = lab.directory / "logs"
    for d in range(100):  # 100 services with 100 files each (one directory of 10,000 works too, slower)
        service_dir = logs / f"svc{d:03d}"
        service_dir.mkdir(parents=True)
        for f in range(100):
            n = (d * 100 + f) * 2
            (service_dir / f"{f:03d}.log").write_bytes(line(n) + line(n + 1))
    _, url, received = lab.watched("scribe")
    state = lab.directory / "ship.state"
    ulimit = ("sh", "-c", 'ulimit -n 256 && exec "$@"', "sh")
    shipper = lab.shipper(*fast("--from", str(logs / "*" / "*.log"), "--to", url, "--state", str(state)), under=ulimit)
    assert received.wait_all(range(20_000), timeout=120), f"{received.unique()} of 20000; {shipper.diagnostics()}"
    first = logs / "svc000" / "000.log"
    with open(first, "ab") as f:  # a file whose descriptor was let go long ago is read on
        f.write(line(20_000))
    assert received.wait_all(range(20_001), timeout=ARRIVAL_TIMEOUT), shipper.diagnostics()
    assert shipper.terminate() == 0
    assert check_lines(received.messages, range(20_001)) == 0
    assert [r["short_message"] for r in shipper.log() if r["level"] <= 4] == []


# -- state files ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["--status", "run"])
def test_a_state_file_that_is_a_fifo_is_one_line_and_exit_2(lab: Lab, command: str) -> None:
    state = lab.directory / "ship.state"
    os.mkfifo(state)
    args = ["--status"] if command == "--status" else ["--from", str(lab.directory), "--to", "scribe://127.0.0.1:9"]
    proc = run_ship(*args, "--state", str(state), timeout=ARRIVAL_TIMEOUT)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"logmagic ship: state file {state}: cannot read it: not a regular file\n"


@pytest.mark.parametrize("command", ["--status", "run"])
def test_a_state_path_that_is_a_symlink_is_one_line_and_exit_2(lab: Lab, command: str) -> None:
    target = lab.directory / "elsewhere"
    target.write_text('{"version": 1, "sources": {}}')
    state = lab.directory / "ship.state"
    state.symlink_to(target)
    args = ["--status"] if command == "--status" else ["--from", str(lab.directory), "--to", "scribe://127.0.0.1:9"]
    proc = run_ship(*args, "--state", str(state), timeout=ARRIVAL_TIMEOUT)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"logmagic ship: state file {state}: is a symbolic link; refusing to follow it\n"
    assert target.read_text() == '{"version": 1, "sources": {}}'
