"""Sources in process: stitching, prefixes, rotation, truncation, resuming and gaps."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from logmagic.tools.logfiles import svlogd
from logmagic.tools.logfiles.identity import File
from logmagic.tools.logfiles.prefix import without_prefix
from logmagic.tools.ship.kinds import Waiting, open_source
from logmagic.tools.ship.source import Position, Source
from logmagic.tools.ship.state import StateError, StateFile
from logmagic.tools.ship.svlogd_source import SvlogdSource


def follow(path: str, category: str | None = None, **options: Any) -> Source:
    """The source following ``path``, which exists."""
    source = open_source(path, category, **options)
    assert isinstance(source, Source), source
    return source


def drain(source: Source, max_lines: int = 1000, max_bytes: int = 1 << 20) -> tuple[list[bytes], Position | None]:
    """Every line the source has now, and the position after the last one.

    A source that never runs dry (reading the same files again and again) fails the test
    instead of hanging it.
    """
    lines: list[bytes] = []
    end = None
    for _ in range(100_000):
        batch = source.read_batch(max_lines, max_bytes)
        if batch is None:
            return lines, end
        lines += batch.lines
        end = batch.end
    raise AssertionError(f"still reading after 100,000 batches: {lines[:10]!r}...")


def create_rotation(log: Path, text: bytes) -> None:
    """logrotate ``create``: ``app.log.1`` (if any) becomes ``app.log.2``, ``app.log`` becomes
    ``app.log.1``, and a new ``app.log`` holds ``text``."""
    first = log.with_name(log.name + ".1")
    if first.exists():
        first.rename(log.with_name(log.name + ".2"))
    log.rename(first)
    log.write_bytes(text)


def rotated(n: int) -> str:
    return f"@4000000069{n:014x}.s"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'@400000006b047eca08433df4 {"a":1}', b'{"a":1}'),
        (b'2026-11-22_06:28:03.46035 {"a":1}', b'{"a":1}'),
        (b'2026-11-22T06:28:03.460351Z {"a":1}', b'{"a":1}'),
        (b'2026-11-22T06:28:03+01:00 {"a":1}', b'{"a":1}'),
        (b'{"ts":"2026-11-22_06:28:03.46035 "}', b'{"ts":"2026-11-22_06:28:03.46035 "}'),
        (b"2026-11-22 not a prefix", b"2026-11-22 not a prefix"),
        (b"@4000 short", b"@4000 short"),
    ],
)
def test_svlogd_prefixes_are_removed_and_nothing_else(line: bytes, expected: bytes) -> None:
    assert without_prefix(line) == expected


def test_a_line_split_across_a_rotation_comes_out_whole(tmp_path: Path) -> None:
    (tmp_path / rotated(1)).write_bytes(b'2026-11-22_06:28:03.1 {"n":1}\n2026-11-22_06:28:03.2 {"n":2,"long":"ab')
    (tmp_path / rotated(2)).write_bytes(b'cd"}\n2026-11-22_06:28:04.1 {"n":3}\n')
    (tmp_path / "current").write_bytes(b'2026-11-22_06:28:05.1 {"n":4}\n2026-11-22_06:28:05.2 {"n":5,"part')
    source = follow(str(tmp_path), "svc")
    lines, end = drain(source)
    assert lines == [b'{"n":1}\n', b'{"n":2,"long":"abcd"}\n', b'{"n":3}\n', b'{"n":4}\n']
    assert end is not None and end.name == "current" and end.offset == len(b'2026-11-22_06:28:05.1 {"n":4}\n')
    with open(tmp_path / "current", "ab") as f:
        f.write(b'ial":true}\n')
    assert drain(source)[0] == [b'{"n":5,"partial":true}\n'], "the partial last line waited for its newline"


def test_keep_prefix_sends_lines_as_written(tmp_path: Path) -> None:
    (tmp_path / "current").write_bytes(b'2026-11-22_06:28:05.1 {"n":4}\n')
    assert drain(follow(str(tmp_path), "svc", keep_prefix=True))[0] == [b'2026-11-22_06:28:05.1 {"n":4}\n']


def test_a_plain_file_keeps_its_own_timestamps(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"2024-05-01T10:00:00.123Z ERROR payment failed id=7\n2024-05-01_10:00:01.5 INFO ok\n")
    assert drain(follow(str(log), "app"))[0] == log.read_bytes().splitlines(keepends=True)


def test_svlogd_rotation_while_following_loses_nothing(tmp_path: Path) -> None:
    current = tmp_path / "current"
    current.write_bytes(b"a1\na2\n")
    source = follow(str(tmp_path), "svc")
    assert drain(source)[0] == [b"a1\n", b"a2\n"]
    with open(current, "ab") as f:
        f.write(b"a3\n")  # written just before the rotation, not read yet
    current.rename(tmp_path / rotated(1))
    current.write_bytes(b"b1\n")
    with open(tmp_path / rotated(1), "ab"):
        pass
    os.rename(current, tmp_path / rotated(2))
    current.write_bytes(b"c1\n")
    lines, end = drain(source)
    assert lines == [b"a3\n", b"b1\n", b"c1\n"]
    assert end is not None and end.name == "current"
    assert source.counters.gaps == 0


def test_resume_finds_the_file_after_it_was_rotated(tmp_path: Path) -> None:
    current = tmp_path / "current"
    current.write_bytes(b"a1\na2\n")
    first = follow(str(tmp_path), "svc")
    batch = first.read_batch(1, 1)  # a one-line batch: a1 is acknowledged, a2 is not
    assert batch is not None and batch.lines == [b"a1\n"]
    first.close()
    current.rename(tmp_path / rotated(1))
    current.write_bytes(b"b1\n")

    again = follow(str(tmp_path), "svc")
    again.resume(Position.from_json(batch.end.to_json()))
    assert drain(again)[0] == [b"a2\n", b"b1\n"]
    assert again.counters.gaps == 0


def process(directory: Path, n: int, text: bytes) -> None:
    """What svlogd with ``!gzip`` does at a rotation: ``current`` becomes ``@<stamp>.u``, the
    processor's output ``@<stamp>.s`` (a new file), the ``.u`` goes; then a new ``current``."""
    unprocessed = directory / rotated(n).replace(".s", ".u")
    (directory / "current").rename(unprocessed)
    (directory / rotated(n)).write_bytes(gzip.compress(unprocessed.read_bytes()))
    unprocessed.unlink()
    (directory / "current").write_bytes(text)


@pytest.mark.parametrize("restart", [False, True])
def test_with_a_gzip_processor_the_output_of_the_file_read_is_not_sent_again(tmp_path: Path, restart: bool) -> None:
    """Read along, the processed file is drained through its descriptor and its output skipped;
    restarted after it was processed, the rest of it is read from its output, decompressed."""
    (tmp_path / "config").write_text("s4000\n!gzip\n")
    (tmp_path / "current").write_bytes(b"a1\na2\n")
    source = follow(str(tmp_path), "svc")
    batch = source.read_batch(1, 1)
    assert batch is not None and batch.lines == [b"a1\n"]
    if restart:
        source.close()
    process(tmp_path, 1, b"b1\n")
    process(tmp_path, 2, b"c1\n")  # the shipper is behind: only the output of b is left
    if restart:
        source = follow(str(tmp_path), "svc")
        source.resume(Position.from_json(batch.end.to_json()))
    assert drain(source)[0] == [b"a2\n", b"b1\n", b"c1\n"]
    assert (source.counters.gaps, source.counters.losses) == (0, [])


def test_a_position_in_a_unprocessed_file_goes_on_in_its_output_after_a_restart(tmp_path: Path) -> None:
    """The shipper was reading ``@<stamp>.u`` (svlogd had rotated ``current``, the processor was
    at work) when it stopped; by the restart the ``.u`` is gone and its output ``@<stamp>.s``
    holds its lines: the rest is read from there, with no gap."""
    (tmp_path / "config").write_text("!gzip\n")
    unprocessed = tmp_path / rotated(1).replace(".s", ".u")
    unprocessed.write_bytes(b"a1\na2\na3\n")
    (tmp_path / "current").write_bytes(b"b1\n")
    source = follow(str(tmp_path), "svc")
    batch = source.read_batch(1, 1)
    assert batch is not None and batch.lines == [b"a1\n"] and batch.end.name == unprocessed.name
    source.close()
    (tmp_path / rotated(1)).write_bytes(gzip.compress(unprocessed.read_bytes()))
    unprocessed.unlink()
    again = follow(str(tmp_path), "svc")
    again.resume(Position.from_json(batch.end.to_json()))
    assert drain(again)[0] == [b"a2\n", b"a3\n", b"b1\n"]
    assert (again.counters.gaps, again.counters.losses) == (0, [])


def test_status_with_a_gzip_processor_counts_the_lines_of_outputs_not_read(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("!gzip\n")
    (tmp_path / "current").write_bytes(b"a1\na2\n")
    source = follow(str(tmp_path), "svc")
    batch = source.read_batch(2, 1 << 20)
    assert batch is not None and batch.lines == [b"a1\n", b"a2\n"]
    process(tmp_path, 1, b"b1\nb2\n")
    process(tmp_path, 2, b"c1\n")
    output = (tmp_path / rotated(2)).stat().st_size  # bytes on disk
    assert source.lag(batch.end, count_lines=True) == (output + 3, 3), "the read file's output is not counted"


def test_a_file_being_processed_is_read_once_as_its_unprocessed_name(tmp_path: Path) -> None:
    """While the processor works, ``@<stamp>.u`` and (at its end) ``@<stamp>.s`` hold the same lines."""
    (tmp_path / "config").write_text("!gzip\n")
    (tmp_path / rotated(1)).write_bytes(gzip.compress(b"a1\n"))
    (tmp_path / rotated(1).replace(".s", ".u")).write_bytes(b"a1\n")
    (tmp_path / "current").write_bytes(b"b1\n")
    assert drain(follow(str(tmp_path), "svc"))[0] == [b"a1\n", b"b1\n"]


@pytest.mark.parametrize("listing", [1, 2], ids=["finding-the-next-file", "opening-the-new-current"])
def test_a_file_processed_while_its_directory_is_listed_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listing: int
) -> None:
    """svlogd renames ``current`` to ``@<stamp>.u`` and starts the processor; the processor's
    output ``@<stamp>.s`` appears, and the ``.u`` is deleted after the shipper read the directory
    but before it looked at the ``.u``. Both listings made once the file read as ``current`` has
    rotated (the one that finds the file after it, the one made when the new ``current`` is
    opened) must still show that rotation, by its output: a rotation missing from either makes
    the shipper take the output of the file it read for a file it has not read, and send it
    again, starting with the end of the line svlogd split at the rotation before, alone.
    """
    (tmp_path / "config").write_text("!gzip\n")
    (tmp_path / "current").write_bytes(b"a1\na2 he")
    source = follow(str(tmp_path), "svc")
    assert drain(source)[0] == [b"a1\n"]

    unprocessed = tmp_path / rotated(1).replace(".s", ".u")
    (tmp_path / "current").rename(unprocessed)  # svlogd rotates in the middle of a line
    (tmp_path / "current").write_bytes(b"ad\nb1\n")
    (tmp_path / rotated(1)).write_bytes(gzip.compress(unprocessed.read_bytes()))  # the processor's output
    seen = 0
    real_listing = svlogd.listing

    def processor_finishes_after(directory: str, whole: bool = True, keep: str = svlogd.ORIGINAL) -> list[File]:
        """The directory as read, with the ``.u`` deleted right after the ``listing``-th read that shows it."""
        nonlocal seen
        files = real_listing(directory, whole, keep)
        if unprocessed.name in [f.name for f in files]:
            seen += 1
            if seen == listing:
                unprocessed.unlink()
        return files

    monkeypatch.setattr(svlogd, "listing", processor_finishes_after)
    assert drain(source)[0] == [b"a2 head\n", b"b1\n"]
    assert not unprocessed.exists(), "the processor finished between a listing and the look at its files"
    monkeypatch.setattr(svlogd, "listing", real_listing)

    process(tmp_path, 2, b"c1\n")  # the shipper is behind: b's output, and c's
    process(tmp_path, 3, b"d1\n")
    assert drain(source)[0] == [b"c1\n", b"d1\n"]
    assert (source.counters.gaps, source.counters.losses) == (0, [])


def test_a_file_processed_while_the_shipper_looks_at_it_is_no_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The processor deletes the ``.u`` (its output ``@<stamp>.s`` is there) after the listing
    and before the shipper looks whether that ``.u`` is the file it read as ``current``. The
    next listing shows the rotation by its output: the ``.u`` of the listing before is the same
    rotation, not a file svlogd deleted before it was read."""
    (tmp_path / "config").write_text("!gzip\n")
    (tmp_path / "current").write_bytes(b"a1\n")
    source = follow(str(tmp_path), "svc")
    assert drain(source)[0] == [b"a1\n"]

    unprocessed = tmp_path / rotated(1).replace(".s", ".u")
    (tmp_path / "current").rename(unprocessed)
    (tmp_path / "current").write_bytes(b"b1\n")
    (tmp_path / rotated(1)).write_bytes(gzip.compress(unprocessed.read_bytes()))
    real_ident = svlogd.ident

    def processor_finishes_first(path: str | os.PathLike[str]) -> tuple[int, int] | None:
        if os.fspath(path) == str(unprocessed) and unprocessed.exists():
            unprocessed.unlink()
        return real_ident(path)

    monkeypatch.setattr(svlogd, "ident", processor_finishes_first)
    assert drain(source)[0] == [], "the file after the one read is not known yet"
    assert not unprocessed.exists(), "the processor finished between the listing and the look at the .u"
    monkeypatch.setattr(svlogd, "ident", real_ident)

    process(tmp_path, 2, b"c1\n")  # at the next poll the shipper is behind
    process(tmp_path, 3, b"d1\n")
    assert drain(source)[0] == [b"b1\n", b"c1\n", b"d1\n"]
    assert (source.counters.gaps, source.counters.losses) == (0, [])


def test_a_processor_output_cut_short_sends_what_it_holds_and_counts_a_gap(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("!gzip\n")
    written = [b"a%d\n" % i for i in range(2000)]
    (tmp_path / rotated(1)).write_bytes(gzip.compress(b"".join(written))[:-40])
    (tmp_path / "current").write_bytes(b"b1\n")
    source = follow(str(tmp_path), "svc")
    lines = drain(source)[0]
    assert len(lines) > 1000 and lines[:-2] == written[: len(lines) - 2] and lines[-1] == b"b1\n"
    assert not any(b"\x1f\x8b" in line for line in lines)
    assert source.counters.gaps == 1 and "not whole gzip" in source.counters.losses[0]


def test_resume_after_the_file_was_deleted_counts_a_gap(tmp_path: Path) -> None:
    (tmp_path / rotated(1)).write_bytes(b"a1\na2\n")
    (tmp_path / rotated(2)).write_bytes(b"b1\n")
    (tmp_path / "current").write_bytes(b"c1\n")
    first = follow(str(tmp_path), "svc")
    batch = first.read_batch(1, 1)
    assert batch is not None and batch.lines == [b"a1\n"]
    first.close()
    (tmp_path / rotated(1)).unlink()  # svlogd's `n` limit removed it before it was read

    again = follow(str(tmp_path), "svc")
    again.resume(batch.end)
    assert drain(again)[0] == [b"b1\n", b"c1\n"]
    assert again.counters.gaps == 1
    assert any("lost" in note for note in again.counters.losses)


def test_resume_after_the_file_was_compressed_reads_the_generations_after_it(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a1\na2\n")
    first = follow(str(log), "app")
    batch = first.read_batch(1, 1)  # a1 acknowledged, a2 not
    assert batch is not None and batch.lines == [b"a1\n"]
    first.close()
    # Two rotations with delaycompress while the shipper was down: A compressed, B not yet.
    with gzip.open(tmp_path / "app.log.2.gz", "wb") as f:
        f.write(log.read_bytes())
    log.unlink()
    (tmp_path / "app.log.1").write_bytes(b"b1\n")
    log.write_bytes(b"c1\n")
    os.utime(tmp_path / "app.log.2.gz", ns=(10**18, 10**18))
    os.utime(tmp_path / "app.log.1", ns=(2 * 10**18, 2 * 10**18))

    again = follow(str(log), "app")
    again.resume(batch.end)
    assert drain(again)[0] == [b"b1\n", b"c1\n"]
    assert again.counters.gaps == 1
    assert "app.log.2.gz" in again.counters.losses[0]


def test_plain_file_renamed_by_logrotate_is_drained_then_the_new_file_read(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"1\n")
    source = follow(str(log), "app")
    assert drain(source)[0] == [b"1\n"]
    with open(log, "ab") as f:
        f.write(b"2\n")
    create_rotation(log, b"3\n")
    assert drain(source)[0] == [b"2\n", b"3\n"]


def test_copytruncate_reads_the_tail_from_the_copy_then_the_file_from_zero(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"1\n2\n")
    source = follow(str(log), "app")
    assert drain(source)[0] == [b"1\n", b"2\n"]
    with open(log, "ab") as f:
        f.write(b"3\n")  # written after the last read, before the copy
    (tmp_path / "app.log.1").write_bytes(log.read_bytes())
    with open(log, "r+b") as f:
        f.truncate(0)
    with open(log, "ab") as f:
        f.write(b"4\n")
    assert drain(source)[0] == [b"3\n", b"4\n"]
    assert source.counters.truncations == 1 and source.counters.gaps == 0


def test_a_line_longer_than_max_line_is_sent_in_pieces_of_max_line_and_counted(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"w" * 250 + b"\n" + b"x" * 250)  # no newline after the x's: a writer stuck mid-line
    source = follow(str(log), "app", max_line=100)
    lines, _ = drain(source)
    assert lines == [b"w" * 100 + b"\n", b"w" * 100 + b"\n", b"w" * 50 + b"\n", b"x" * 100 + b"\n", b"x" * 100 + b"\n"]
    assert source.counters.oversized == 2
    with open(log, "ab") as f:
        f.write(b"yz\n")
    assert drain(source)[0] == [b"x" * 50 + b"yz\n"], "the rest of the cut line, then nothing waits"
    assert source.counters.oversized == 2, "a line is counted once, however many pieces"


def test_a_huge_line_on_disk_never_goes_out_in_pieces_over_max_line(tmp_path: Path) -> None:
    big = b'{"big":"' + b"x" * (3 << 20) + b'"}'
    (tmp_path / "current").write_bytes(b'2026-11-22_06:28:03.1 {"n":1}\n2026-11-22_06:28:03.2 ' + big + b'\n{"n":2}\n')
    source = follow(str(tmp_path), "svc")
    lines, _ = drain(source, max_bytes=1 << 20)
    assert lines[0] == b'{"n":1}\n' and lines[-1] == b'{"n":2}\n'
    pieces = lines[1:-1]
    assert max(map(len, pieces)) <= (1 << 20) + 1, "no piece is longer than --max-line (plus its newline)"
    assert b"".join(p[:-1] for p in pieces) == big, "the pieces are the line, prefix off, in order"
    assert source.counters.oversized == 1


def test_status_counts_what_is_not_acknowledged(tmp_path: Path) -> None:
    (tmp_path / rotated(1)).write_bytes(b"a1\na2\n")
    (tmp_path / "current").write_bytes(b"c1\nc2\nc3\n")
    source = follow(str(tmp_path), "svc")
    batch = source.read_batch(1, 1)
    assert batch is not None
    assert source.lag(batch.end, count_lines=True) == (3 + 9, 4)
    assert source.lag(None, count_lines=True) == (6 + 9, 5)


def test_state_file_round_trip_and_corruption(tmp_path: Path) -> None:
    (tmp_path / "current").write_bytes(b"a1\na2\n")
    batch = follow(str(tmp_path), "svc").read_batch(1, 1)
    assert batch is not None
    state = StateFile(str(tmp_path / "ship.state"))
    state.save({"/x": batch.end})
    assert StateFile(state.path).load() == {"/x": batch.end}
    assert [p.name for p in tmp_path.iterdir() if ".tmp." in p.name] == []
    Path(state.path).write_text("{not json")
    with pytest.raises(StateError, match="cannot read"):
        StateFile(state.path).load()
    Path(state.path).write_text('{"version": 99, "sources": {}}')
    with pytest.raises(StateError, match="version"):
        StateFile(state.path).load()
    entry = batch.end.to_json()
    for key, value in (("offset", -1), ("fp_len", -1), ("fp_len", 513)):
        Path(state.path).write_bytes(orjson.dumps({"version": 1, "sources": {"/x": {**entry, key: value}}}))
        with pytest.raises(StateError, match=f"malformed entry: {key} -?[0-9]+ is"):
            StateFile(state.path).load()


def test_a_rotated_file_deleted_before_it_was_read_is_a_counted_gap(tmp_path: Path) -> None:
    (tmp_path / rotated(1)).write_bytes(b"a1\na2\n")
    (tmp_path / rotated(2)).write_bytes(b"b1\n")
    (tmp_path / "current").write_bytes(b"c1\n")
    source = follow(str(tmp_path), "svc")
    assert source.read_batch(1, 1) is not None
    (tmp_path / rotated(2)).unlink()
    assert drain(source)[0] == [b"a2\n", b"c1\n"]
    assert source.counters.gaps == 1


def test_a_rotated_file_without_a_final_newline_keeps_its_last_line_apart(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"1\n2-cut")
    source = follow(str(log), "app")
    assert drain(source)[0] == [b"1\n"]
    create_rotation(log, b"3\n")
    lines, end = drain(source)
    assert lines == [b"2-cut\n", b"3\n"]
    assert source.counters.unterminated == 1
    assert end is not None and end.name == str(log) and end.offset == 2


def test_a_path_that_becomes_an_svlogd_directory_later_is_read_as_one(tmp_path: Path) -> None:
    logdir = tmp_path / "api" / "log" / "main"
    waiting = open_source(str(logdir))
    assert isinstance(waiting, Waiting) and waiting.arrived() is None
    assert waiting.lag(None, count_lines=True) == (0, 0)
    logdir.mkdir(parents=True)
    (logdir / rotated(1)).write_bytes(b'2026-11-22_06:28:03.1 {"n":1}\n')
    (logdir / "current").write_bytes(b'2026-11-22_06:28:04.1 {"n":2}\n')
    source = waiting.arrived()
    assert isinstance(source, SvlogdSource) and source.category == "api"
    assert drain(source)[0] == [b'{"n":1}\n', b'{"n":2}\n']


def test_resume_after_a_rename_finds_the_file_by_inode_before_an_older_look_alike(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    banner = b'{"msg":"service started"}\n'
    (tmp_path / "app.log-20240101").write_bytes(banner + b"old 1\nold 2\n")  # shipped long ago
    log.write_bytes(banner)
    first = follow(str(log), "app")
    lines, end = drain(first)
    assert lines == [banner] and end is not None and end.file.fp_len == len(banner)
    first.close()
    with open(log, "ab") as f:  # the shipper is stopped; the app writes, logrotate renames
        f.write(b"6\n7\n")
    log.rename(tmp_path / "app.log-20240102")
    log.write_bytes(b"8\n9\n")
    again = follow(str(log), "app")
    again.resume(end)
    assert drain(again)[0] == [b"6\n", b"7\n", b"8\n", b"9\n"]
    assert again.counters.gaps == 0


def test_resume_after_copytruncate_takes_the_newest_copy_when_the_fingerprint_is_short(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    banner = b'{"msg":"service started"}\n'
    older = tmp_path / "app.log-20240101"
    older.write_bytes(banner + b"old 1\nold 2\n")
    log.write_bytes(banner)
    first = follow(str(log), "app")
    lines, end = drain(first)
    assert lines == [banner] and end is not None
    first.close()
    with open(log, "ab") as f:
        f.write(b"6\n7\n")
    copy = tmp_path / "app.log-20240102"
    copy.write_bytes(log.read_bytes())  # copytruncate while the shipper is stopped
    os.truncate(log, 0)
    log.write_bytes(b"8\n9\n")
    os.utime(older, ns=(10**18, 10**18))
    os.utime(copy, ns=(2 * 10**18, 2 * 10**18))
    again = follow(str(log), "app")
    again.resume(end)
    assert drain(again)[0] == [b"6\n", b"7\n", b"8\n", b"9\n"]


def test_copytruncate_while_behind_is_seen_even_once_the_file_grew_past_the_old_position(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"".join(b"%d\n" % i for i in range(1, 21)))
    source = follow(str(log), "app")
    assert len(drain(source)[0]) == 20  # acknowledged up to here; the collector goes down
    with open(log, "ab") as f:
        f.write(b"".join(b"%d\n" % i for i in range(21, 31)))  # not read yet
    (tmp_path / "app.log.1").write_bytes(log.read_bytes())
    os.truncate(log, 0)
    with open(log, "ab") as f:
        f.write(b"".join(b"%d\n" % i for i in range(1001, 1101)))  # longer than it was
    lines, _ = drain(source)
    assert lines == [b"%d\n" % i for i in (*range(21, 31), *range(1001, 1101))]
    assert source.counters.truncations == 1 and source.counters.gaps == 0


@pytest.mark.parametrize(
    "times",
    [(10**18, 2 * 10**18), (10**18, 10**18)],
    ids=["in-the-order-written", "same-second"],  # a clock with whole seconds gives both one time
)
def test_two_create_rotations_while_behind_read_the_generation_in_between_once(
    tmp_path: Path, times: tuple[int, int]
) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a1\n")
    source = follow(str(log), "app")
    assert drain(source)[0] == [b"a1\n"]
    with open(log, "ab") as f:
        f.write(b"a2\n")
    create_rotation(log, b"b1\n")
    create_rotation(log, b"c1\n")
    os.utime(tmp_path / "app.log.2", ns=(times[0], times[0]))
    os.utime(tmp_path / "app.log.1", ns=(times[1], times[1]))
    assert drain(source)[0] == [b"a2\n", b"b1\n", b"c1\n"]
    assert source.counters.gaps == 0


@pytest.mark.parametrize("compress", [False, True])
def test_a_generation_written_after_a_quiet_new_file_was_made_is_not_read_again(tmp_path: Path, compress: bool) -> None:
    """The application wrote into the renamed file once more, after logrotate made a new one
    that then stayed empty: the old file is newer than the new one, but it was read."""
    log = tmp_path / "app.log"
    log.write_bytes(b"a1\n")
    source = follow(str(log), "app")
    assert drain(source)[0] == [b"a1\n"]
    create_rotation(log, b"")
    assert drain(source)[0] == []  # the old file drained, the new (empty) one open
    os.utime(log, ns=(10**18, 10**18))
    os.utime(tmp_path / "app.log.1", ns=(2 * 10**18, 2 * 10**18))  # written to after the new one
    (tmp_path / "app.log.1").rename(tmp_path / "app.log.2")
    if compress:
        old = tmp_path / "app.log.2"
        with gzip.open(tmp_path / "app.log.2.gz", "wb") as f:
            f.write(old.read_bytes())
        os.utime(tmp_path / "app.log.2.gz", ns=(2 * 10**18, 2 * 10**18))  # gzip keeps the time
        old.unlink()
    create_rotation(log, b"c1\n")
    assert drain(source)[0] == [b"c1\n"]
    assert (source.counters.gaps, source.counters.losses) == (0, [])


def test_a_generation_compressed_before_it_was_read_is_a_counted_gap(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a1\n")
    source = follow(str(log), "app")
    assert drain(source)[0] == [b"a1\n"]
    log.rename(tmp_path / "app.log.2")
    (tmp_path / "app.log.1.gz").write_bytes(b"\x1f\x8b not read")
    log.write_bytes(b"c1\n")
    os.utime(tmp_path / "app.log.2", ns=(10**18, 10**18))
    os.utime(tmp_path / "app.log.1.gz", ns=(2 * 10**18, 2 * 10**18))
    assert drain(source)[0] == [b"c1\n"]
    assert source.counters.gaps == 1
    assert "app.log.1.gz" in source.counters.losses[0]


def test_files_svlogd_deleted_before_they_were_read_are_all_counted_and_named(tmp_path: Path) -> None:
    for n in range(1, 6):
        (tmp_path / rotated(n)).write_bytes(b"%d-1\n%d-2\n" % (n, n))
    (tmp_path / "current").write_bytes(b"c1\n")
    source = follow(str(tmp_path), "svc")
    assert source.read_batch(1, 1) is not None
    for n in range(1, 5):  # the file being read, then three never read
        (tmp_path / rotated(n)).unlink()
    assert drain(source)[0] == [b"1-2\n", b"5-1\n", b"5-2\n", b"c1\n"]
    assert source.counters.gaps == 3
    (note,) = source.counters.losses
    assert all(rotated(n) in note for n in (2, 3, 4)) and "rotated 20" in note


def test_files_rotated_and_deleted_while_current_was_read_are_a_counted_gap(tmp_path: Path) -> None:
    current = tmp_path / "current"
    current.write_bytes(b"a1\na2\n")
    source = follow(str(tmp_path), "svc")
    assert source.read_batch(1, 1) is not None  # a2 not read yet: the shipper is behind
    for n in (1, 2, 3):  # svlogd rotates three times...
        current.rename(tmp_path / rotated(n))
        current.write_bytes(b"%d\n" % (n + 1))
    for n in (1, 2):  # ...and its `n` limit deletes the two oldest: the open file, and one never seen
        (tmp_path / rotated(n)).unlink()
    assert drain(source)[0] == [b"a2\n", b"3\n", b"4\n"], "the open file is read to its end, then what is left"
    assert source.counters.gaps == 1, "the file holding 2 was never seen, yet it is counted"
    (note,) = source.counters.losses
    assert "svlogd deleted the file being read" in note and "any file it rotated between" in note


def test_a_deleted_file_is_read_to_its_end_then_let_go(tmp_path: Path) -> None:
    log = tmp_path / "day.log"
    log.write_bytes(b"1\n2")
    source = follow(str(log), "app")
    assert drain(source)[0] == [b"1\n"]
    log.unlink()
    assert drain(source)[0] == [b"2\n"], "the unterminated last line goes out as it is"
    assert source.finished and source.counters.unterminated == 1
    assert f"{log} (deleted)" not in held_open(), "the descriptor, and the disk space, are let go"


def held_open() -> list[str]:
    """What this process has open (Linux: /proc/self/fd); a deleted file ends with `` (deleted)``."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass  # the descriptor listdir itself used
    return found
