"""gelf-chainsaw's byte scans: the C ones (SIMD and portable builds) give what their Python
definitions give, on generated buffers; and the definitions say what the docs say."""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logmagic.tools.chainsaw import bytescan
from logmagic.tools.chainsaw.query import Query, parse_term
from logmagic.tools.logfiles.prefix import body_start, strip_prefix

from ... import build_hook

ROOT = Path(__file__).resolve().parents[3]
SOURCE = ROOT / "logmagic" / "tools" / "chainsaw" / "_speedups.c"
REQUIRE_ALL = os.environ.get("LOGMAGIC_REQUIRE_ALL") == "1"

#: Pieces log lines are made of, weighted towards what the scans look at.
PIECES = [
    b"\\",
    b"\\\\",
    b"\\u0041",
    b"\\u002e",
    b"\\u00e9",
    b"\\ud83d\\ude00",
    b"\\/",
    b"\\n",
    b'\\"',
    b"u0041",
    b"\n",
    b"\n",
    b"{",
    b"}",
    b'"',
    b" ",
    b"\t",
    b"level",
    b'level"',
    b':"error"',
    b":3",
    b": 30",
    b":-1",
    b":3.5",
    b'"INFO"',
    b"\xc4\xb1",
    b"txn-1",
    b"2026-11-22_06:28:03.46035 ",
    b"2026-02-30T06:28:03 ",
    b"2024-02-29T23:59:59Z ",
    b"2026-11-22T06:28:03+01:00 ",
    b"@400000006b0398b411646674 ",
    b"x" * 40,
]
#: Short buffers, and long ones that the 16- and 32-byte loops of the C code go through.
BUFFERS = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=60).map(b"".join),
    st.lists(st.sampled_from(PIECES), min_size=60, max_size=600).map(b"".join),
)
TEXTS = st.sampled_from(["A.", "txn-1", "/v1/x", "é", "\U0001f600", "level", "\\", "u", ""])
SHORTS = st.sampled_from([b"", b"/", b"u\n", b"/u\\"])


def build(tmp: Path, *flags: str) -> ModuleType:
    """``_speedups.c`` compiled with ``flags``, loaded as its own module."""
    out = tmp / ("_speedups" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))
    ldshared = sysconfig.get_config_var("LDSHARED") or "cc -shared"
    include = sysconfig.get_paths()["include"]
    cmd = [*shlex.split(ldshared), "-O2", "-fPIC", *flags, "-I", include, str(SOURCE), "-o", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        if REQUIRE_ALL:
            pytest.fail(f"cannot compile {SOURCE}: {done.stderr}")
        pytest.skip(f"no C compiler here: {done.stderr.strip()[:200]}")
    spec = importlib.util.spec_from_file_location("logmagic.tools.chainsaw._speedups", out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=["as installed", "portable"])
def fast(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The C module as built for logmagic (SIMD where the CPU has it), and its portable build."""
    if request.param == "portable":
        return build(tmp_path_factory.mktemp("portable"), "-DLOGMAGIC_NO_SIMD")
    if not bytescan.ACCELERATED:
        if REQUIRE_ALL:
            pytest.fail("the C accelerator logmagic.tools.chainsaw._speedups was not built (see hatch_build.py)")
        pytest.skip("the C accelerator was not built (no C compiler when logmagic was installed?)")
    from logmagic.tools.chainsaw import _speedups

    return _speedups


def ranges(data: bytes, cut: tuple[int, int]) -> tuple[int, int]:
    start = min(cut[0], len(data))
    return start, min(max(start, cut[1]), len(data))


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(data=BUFFERS, text=TEXTS, short=SHORTS, cut=st.tuples(st.integers(0, 200), st.integers(0, 400)))
def test_escape_and_odd_lines_are_their_definitions(
    fast: ModuleType, data: bytes, text: str, short: bytes, cut: tuple[int, int]
) -> None:
    units = bytescan.units_of(text)
    for start, end in ((0, len(data)), ranges(data, cut)):
        want_escapes = bytescan.escape_lines_py(data, start, end, units, short)
        want_odd = bytescan.odd_lines_py(data, start, end)
        assert fast.escape_lines(data, start, end, units, short) == want_escapes
        assert fast.escape_lines(bytearray(data), start, end, units, short) == want_escapes
        assert fast.odd_lines(data, start, end) == want_odd
        assert fast.marks(data, start, end, units, short) == (want_escapes, want_odd)


@SETTINGS
@given(
    data=BUFFERS,
    needle=st.sampled_from(
        [
            b"\\",
            b"u0",
            b"{",
            b"a\n",
            b"2026",
            b"txn-1",
            b"level",
            b"ac7",
            b'level":3',
            b"x" * 40,
            b"2026-11-22_06:28:03.46035 ",
        ]
    ),
)
def test_lines_with_is_its_definition(fast: ModuleType, data: bytes, needle: bytes) -> None:
    assert fast.lines_with(data, 0, len(data), needle) == bytescan.lines_with_py(data, 0, len(data), needle)


@SETTINGS
@given(
    data=BUFFERS, query=st.sampled_from(["level<=3", "level=err", "level>=70", "level<5", "level=10", "level=trace2"])
)
def test_level_lines_is_the_level_pattern(fast: ModuleType, data: bytes, query: str) -> None:
    found = Query([parse_term(query)]).prefilter()
    assert found is not None and found.levels is not None
    assert fast.level_lines(data, 0, len(data), *found.levels) == bytescan.level_lines_py(
        data, 0, len(data), *found.levels
    )


@SETTINGS
@given(lines=st.lists(BUFFERS.map(lambda b: b.replace(b"\n", b"")), max_size=8))
def test_bodies_is_body_start(fast: ModuleType, lines: list[bytes]) -> None:
    assert fast.bodies(lines) == bytescan.bodies_py(lines)


@SETTINGS
@given(data=BUFFERS)
def test_bodies_at_is_bodies_of_the_lines_at_the_spans(fast: ModuleType, data: bytes) -> None:
    spans = bytescan.lines_with_py(data, 0, len(data), b"2") + bytescan.lines_with_py(data, 0, len(data), b"{")
    assert fast.bodies_at(data, spans) == bytescan.bodies_at_py(data, spans)
    assert fast.bodies_at(bytearray(data), spans) == bytescan.bodies_at_py(data, spans)


@given(line=BUFFERS.map(lambda b: b.replace(b"\n", b"")))
def test_body_start_is_where_strip_prefix_cuts(line: bytes) -> None:
    assert line[body_start(line) :] == strip_prefix(line)[0]


def test_a_long_run_of_backslashes_costs_no_more_than_its_length(fast: ModuleType) -> None:
    """Left-to-right pairing of escapes: each backslash of a run is looked at a bounded number
    of times (a quadratic scan would take minutes here)."""
    data = b'{"m":"' + b"\\" * 2_000_000 + b'u0041"}\n'
    units = bytescan.units_of("A")
    assert fast.escape_lines(data, 0, len(data), units, b"") == []  # an even run: "u0041" is text
    odd = data.replace(b'"m":"\\', b'"m":"', 1)
    assert fast.escape_lines(odd, 0, len(odd), units, b"") == [0, len(odd) - 1]


def test_the_documented_cases() -> None:
    units = bytescan.units_of("A")
    cases = {
        b'{"t":"\\u0041"}': True,  # A written as an escape
        b'{"t":"\\u0061"}': False,  # a, not searched for
        b'{"t":"\\\\u0041"}': False,  # a backslash, then the text u0041
        b'{"t":"\\\\\\u0041"}': True,
    }
    for line, found in cases.items():
        assert bool(bytescan.escape_lines_py(line, 0, len(line), units, b"")) is found, line
    lines = [
        b'{"a":1}',
        b"   ",
        b"",
        b"2026-11-22_06:28:03.46035 {}",
        b"2026-11-22_06:28:03.46035 x",
        b"x",
        b' {"a":1}',
    ]
    data = b"\n".join(lines)
    starts = bytescan.odd_lines_py(data, 0, len(data))
    assert [data[s:].split(b"\n")[0] for s in starts] == [lines[4], lines[5], lines[6]]


def test_pure_python_is_chosen_by_the_environment() -> None:
    code = "from logmagic.tools.chainsaw import bytescan as b; print(b.ACCELERATED, b.marks is b.marks_py)"
    env = {**os.environ, "LOGMAGIC_PURE_PYTHON": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_the_build_hook_compiles_this_accelerator_too(tmp_path: Path) -> None:
    hatch_build = build_hook.hatch_build()
    assert hatch_build.CHAINSAW_SOURCE in hatch_build.SOURCES
    module = build_hook.build(hatch_build.CHAINSAW_SOURCE, "logmagic.tools.chainsaw._speedups", tmp_path)
    data = b'{"t":"\\u0041"}\n{"t":"B"}\n'
    assert module.escape_lines(data, 0, len(data), bytescan.units_of("A"), b"") == [0, 14]
