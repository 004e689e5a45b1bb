"""Sources and state files in directories other users write: links, other owners, hard links,
descriptors let go and taken again, and state files with values no position can have.

Everything here is a real file, link or FIFO in a temporary directory; the tests that need to
make files of another user (``os.chown``) run as root, as the shipper does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from logmagic.tools.logfiles.identity import Trust
from logmagic.tools.ship.state import StateError, StateFile, write_atomically

from .test_source import create_rotation, drain, follow, rotated

SHIP = [sys.executable, "-m", "logmagic.tools.cli", "ship"]
#: A user id that owns nothing here (Debian's ``nobody``).
OTHER = 65534

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="making files of another user needs root")


def svlogd_dir(tmp_path: Path) -> Path:
    """An svlogd directory with one rotated file and ``current``, with a slot between them."""
    logdir = tmp_path / "svc"
    logdir.mkdir()
    (logdir / rotated(1)).write_bytes(b"a1\n")
    (logdir / "current").write_bytes(b"c1\n")
    return logdir


def test_a_symlink_in_an_svlogd_directory_is_refused_once_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_bytes(b"root:secret-hash:19000::::::\n")
    logdir = svlogd_dir(tmp_path)
    (logdir / rotated(2)).symlink_to(secret)
    source = follow(str(logdir), "svc")
    assert drain(source)[0] == [b"a1\n", b"c1\n"]
    with open(logdir / "current", "ab") as f:
        f.write(b"c2\n")
    assert drain(source)[0] == [b"c2\n"]
    assert follow(str(logdir), "svc").lag(None) == (9, None), "a refused file is not counted as behind"
    assert source.counters.warnings == [f"{logdir / rotated(2)}: a symbolic link; not shipped"]
    assert source.counters.gaps == 0


def test_a_followed_file_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "zero.log").symlink_to("/dev/zero")
    source = follow(str(tmp_path / "zero.log"), "app")
    for _ in range(3):  # looked at again and again, warned about once
        assert drain(source)[0] == []
    assert source.counters.warnings == [f"{tmp_path / 'zero.log'}: a symbolic link; not shipped"]


def test_a_rotated_generation_that_is_a_symlink_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"not a log\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_bytes(b"a1\n")
    source = follow(str(log), "app")
    assert drain(source)[0] == [b"a1\n"]
    with open(log, "ab") as f:
        f.write(b"a2\n")
    create_rotation(log, b"b1\n")
    later = log.stat().st_mtime + 60
    os.utime(secret, (later, later))  # followed, the link would be a generation written after app.log.1
    (logs / "app.log.0").symlink_to(secret)
    assert drain(source)[0] == [b"a2\n", b"b1\n"]


@as_root
@pytest.mark.parametrize("allow", [False, True])
def test_a_file_of_another_user_than_the_directorys_owner_is_refused_unless_allowed(
    tmp_path: Path, allow: bool
) -> None:
    logdir = svlogd_dir(tmp_path)
    planted = logdir / rotated(2)
    planted.write_bytes(b"planted\n")
    os.chown(planted, OTHER, OTHER)
    source = follow(str(logdir), "svc", trust=Trust(foreign_owner=allow))
    lines = drain(source)[0]
    if allow:
        assert lines == [b"a1\n", b"planted\n", b"c1\n"]
        assert source.counters.warnings == []
    else:
        assert lines == [b"a1\n", b"c1\n"]
        assert source.counters.warnings == [
            f"{planted}: owned by uid {OTHER}, not by its directory's owner, uid 0 (--allow-foreign-owner); not shipped"
        ]


@as_root
def test_files_of_the_directorys_owner_are_read_whoever_that_is(tmp_path: Path) -> None:
    logdir = svlogd_dir(tmp_path)
    for path in (logdir, *logdir.iterdir()):
        os.chown(path, OTHER, OTHER)  # svlogd run as `nobody`, its directory and files its own
    source = follow(str(logdir), "svc")
    assert drain(source)[0] == [b"a1\n", b"c1\n"]
    assert source.counters.warnings == []


@pytest.mark.parametrize("allow", [False, True])
def test_a_hard_link_is_refused_unless_allowed(tmp_path: Path, allow: bool) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"from outside the tree\n")
    logdir = svlogd_dir(tmp_path)
    os.link(elsewhere, logdir / rotated(2))
    source = follow(str(logdir), "svc", trust=Trust(hard_links=allow))
    lines = drain(source)[0]
    if allow:
        assert lines == [b"a1\n", b"from outside the tree\n", b"c1\n"]
    else:
        assert lines == [b"a1\n", b"c1\n"]
        assert source.counters.warnings == [
            f"{logdir / rotated(2)}: has 2 hard links (--allow-hard-links); not shipped"
        ]


# -- descriptors let go (more files than ulimit -n allows) ---------------------------------


def test_a_parked_file_is_read_on_from_where_it_was_through_growth_rotation_and_deletion(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "app.log"
    log.parent.mkdir()
    log.write_bytes(b"a1\na2-part")
    source = follow(str(log), "app")
    assert drain(source)[0] == [b"a1\n"]
    assert source.park() and not source.holds_descriptor
    assert drain(source)[0] == [] and not source.holds_descriptor, "nothing new: not opened again"
    with open(log, "ab") as f:
        f.write(b"-end\na3\n")
    assert drain(source)[0] == [b"a2-part-end\n", b"a3\n"]
    assert source.holds_descriptor
    assert source.park()
    with open(log, "ab") as f:
        f.write(b"a4\n")
    create_rotation(log, b"b1\n")  # renamed while no descriptor was held: found by its inode
    assert drain(source)[0] == [b"a4\n", b"b1\n"]
    assert source.park()
    with open(log, "ab") as f:
        f.write(b"b2\n")
    assert drain(source)[0] == [b"b2\n"]
    assert source.park()
    log.unlink()
    log.with_name("app.log.1").unlink()
    assert drain(source)[0] == [] and source.finished
    assert source.counters.gaps == 0


def test_a_parked_svlogd_current_is_found_after_svlogd_rotated_it(tmp_path: Path) -> None:
    logdir = tmp_path / "svc"
    logdir.mkdir()
    current = logdir / "current"
    current.write_bytes(b"a1\n")
    source = follow(str(logdir), "svc")
    assert drain(source)[0] == [b"a1\n"]
    assert source.park()
    with open(current, "ab") as f:
        f.write(b"a2\n")
    current.rename(logdir / rotated(1))
    current.write_bytes(b"b1\n")
    assert drain(source)[0] == [b"a2\n", b"b1\n"]
    assert source.counters.gaps == 0


# -- state files ---------------------------------------------------------------------------


def test_the_state_is_never_written_through_a_link_at_a_temporary_name(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    state = tmp_path / "ship.state"
    for pid in (os.getpid(), *range(1, 64)):  # every name the old scheme could pick here
        (tmp_path / f"ship.state.tmp.{pid}").symlink_to(victim)
    write_atomically(str(state), b'{"version": 1, "sources": {}}')
    assert victim.read_bytes() == b"precious\n"
    assert state.read_bytes() == b'{"version": 1, "sources": {}}'
    assert not state.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.is_symlink()) == ["ship.state", "victim"]


def test_a_state_path_that_is_a_symlink_is_refused_for_reading_and_writing(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.state"
    target.write_bytes(b'{"version": 1, "sources": {}}')
    state = tmp_path / "ship.state"
    state.symlink_to(target)
    with pytest.raises(StateError, match="is a symbolic link"):
        StateFile(str(state)).load()
    with pytest.raises(OSError, match="is a symbolic link"):
        StateFile(str(state)).save({})
    assert target.read_bytes() == b'{"version": 1, "sources": {}}'


def _entry(log: Path, **changes: object) -> dict[str, object]:
    st = log.stat()
    # fp_len 0: the digest of no bytes, which every file starts with
    entry = {"dev": st.st_dev, "ino": st.st_ino, "fp": "b8e1dda3ac0aa3820ad2990b", "fp_len": 0}
    return {**entry, "name": str(log), "offset": 0, "after": "", **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"offset": 2**64 - 1},
        {"offset": 2**63},
        {"offset": -1},
        {"offset": 1.5},
        {"offset": "12"},
        {"offset": True},
        {"offset": None},
        {"ino": -5},
        {"fp_len": "0"},
        {"name": ["app.log"]},
        {"after": 7},
    ],
    ids=repr,
)
@pytest.mark.parametrize("command", ["--status", "run"])
def test_a_state_with_values_no_position_can_have_is_one_line_and_exit_2(
    tmp_path: Path, changes: dict[str, object], command: str
) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b'{"a":1}\n')
    state = tmp_path / "ship.state"
    state.write_bytes(orjson.dumps({"version": 1, "sources": {str(log): _entry(log, **changes)}}))
    args = ["--status"] if command == "--status" else ["--from", str(log), "--to", "scribe://127.0.0.1:9"]
    proc = subprocess.run([*SHIP, *args, "--state", str(state)], capture_output=True, text=True, timeout=20)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith(f"logmagic ship: state file {state}: malformed entry: ")
    assert proc.stderr.count("\n") == 1, proc.stderr


def test_an_offset_past_2_to_the_64_is_one_line_and_exit_2(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b'{"a":1}\n')
    state = tmp_path / "ship.state"
    text = orjson.dumps({"version": 1, "sources": {str(log): _entry(log)}}).decode()
    state.write_text(text.replace('"offset":0', '"offset":18446744073709551616'))  # JSON has no bound
    proc = subprocess.run([*SHIP, "--status", "--state", str(state)], capture_output=True, text=True, timeout=20)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith(f"logmagic ship: state file {state}: malformed entry: offset ")
    assert proc.stderr.count("\n") == 1, proc.stderr


@pytest.mark.parametrize(
    "status",
    [
        {"pid": 1, "sources": [{"source": ["a", "list"]}]},
        {"pid": 1, "sources": [{"source": 7}]},
        {"pid": 1, "sources": [{"source": {"a": 1}}]},
        {"pid": 1, "sources": [{"source": "/x", "gaps": [1]}]},
        {"pid": "1", "sources": []},
        {"pid": 1, "lines_sent": {"n": 1}, "sources": []},
        {"pid": 1, "destination": ["scribe"], "sources": []},
    ],
    ids=repr,
)
def test_a_status_file_with_wrong_types_is_one_line_and_exit_2(tmp_path: Path, status: dict[str, object]) -> None:
    state = tmp_path / "ship.state"
    (tmp_path / "ship.state.status").write_bytes(orjson.dumps(status))
    proc = subprocess.run([*SHIP, "--status", "--state", str(state)], capture_output=True, text=True, timeout=20)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"logmagic ship: status file {tmp_path / 'ship.state.status'}: not a logmagic ship status\n"
