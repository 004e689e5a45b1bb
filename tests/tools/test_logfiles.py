"""logmagic.tools.logfiles: the one line cutter, the one gzip reader and the svlogd listing policy."""

from __future__ import annotations

import gzip
import io
import zlib

import pytest

from logmagic.tools.logfiles.compressed import GzipReader
from logmagic.tools.logfiles.lines import Cutter
from logmagic.tools.logfiles.svlogd import ORIGINAL, OUTPUT, reading_order


def test_a_long_line_is_cut_and_its_rest_skipped_without_split() -> None:
    cutter = Cutter(4)
    assert cutter.feed(b"ab\nxxxxxx") == [b"ab\n", b"xxxx\n"]
    assert cutter.feed(b"yy\ncd\n") == [b"cd\n"]
    assert cutter.oversized == 1


def test_a_long_line_goes_on_in_pieces_with_split() -> None:
    cutter = Cutter(4, split=True)
    assert cutter.feed(b"ab\nxxxxxx", head=bytes.upper) == [b"AB\n", b"XXXX\n"]
    assert cutter.feed(b"yy\ncd\n", head=bytes.upper) == [b"xxyy\n", b"CD\n"], "a continuation keeps its case"
    assert cutter.oversized == 1 and cutter.pending == b""


def test_a_limit_keeps_whole_lines_pending() -> None:
    cutter = Cutter(100, split=True)
    assert cutter.feed(b"a\nb\nc", limit=1) == [b"a\n"]
    assert cutter.pending == b"b\nc"


def test_blocks_equal_the_lines_fed() -> None:
    data = b"one\ntwo\n" + b"x" * 50 + b"\nthree"
    cutter = Cutter(20)
    got = b"".join(bytes(cutter.block(data[i : i + 7])) for i in range(0, len(data), 7))
    assert got == b"one\ntwo\n" + b"x" * 20 + b"\n" and cutter.pending == b"three"


def test_the_gzip_reader_reads_every_member_and_says_when_data_ends_early() -> None:
    data = gzip.compress(b"a\n") + gzip.compress(b"b\n") + b"\0\0"
    assert GzipReader(io.BytesIO(data)).read() == b"a\nb\n"
    with pytest.raises(EOFError):
        GzipReader(io.BytesIO(data[:-12])).read()
    with pytest.raises(zlib.error):
        GzipReader(io.BytesIO(data[:10] + b"garbage" * 4)).read()


def test_a_rotation_being_processed_is_listed_once_by_the_chosen_file() -> None:
    names = [
        "current",
        "config",
        "@400000006b0398b400000002.u",
        "@400000006b0398b400000002.s",
        "@400000006b0398b400000001.s",
    ]
    assert reading_order(names, OUTPUT) == ["@400000006b0398b400000001.s", "@400000006b0398b400000002.s", "current"]
    assert reading_order(names, ORIGINAL) == ["@400000006b0398b400000001.s", "@400000006b0398b400000002.u", "current"]
