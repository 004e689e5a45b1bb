"""The GELF fast path's field loop: the C accelerator, its Python twin, and the build of the C one.

Both loops must give the same GELF lines. The C one may send more records to the careful
path than the Python one (a key that is a subclass of ``str``, a mapping that is not a
``dict``), never fewer, and it must never run the code of a key or a value.
"""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logmagic.encode import _plain
from logmagic.encode.gelf import GelfEncoder
from logmagic.record import Record

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_ALL = os.environ.get("LOGMAGIC_REQUIRE_ALL") == "1"

try:
    from logmagic.encode._speedups import copy_plain as copy_plain_c
except ImportError:
    copy_plain_c = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def c_loop() -> Callable[..., bool]:
    """The C loop; skipped when it was not built, a failure under LOGMAGIC_REQUIRE_ALL=1."""
    if copy_plain_c is None:
        if REQUIRE_ALL:
            pytest.fail("the C accelerator logmagic.encode._speedups was not built (see hatch_build.py)")
        pytest.skip("the C accelerator was not built (no C compiler when logmagic was installed?)")
    return copy_plain_c


class StrKey(str):
    """A ``str`` subclass whose comparisons are counted: the C loop must never make one."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        StrKey.compared += 1
        return str.__eq__(self, other)

    def __hash__(self) -> int:
        StrKey.compared += 1
        return str.__hash__(self)


class IntLike(int):
    """An ``int`` subclass (``IntEnum`` is one): not a plain value."""


NAMES = {"a": "_a", "b": "_b", "status": "_status"}
keys = st.sampled_from(["a", "b", "status", "unknown", "id"])
values = st.one_of(
    st.text(max_size=8),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.none(),
    st.floats(),
    st.sampled_from([IntLike(3), b"x", [1], {"n": 1}, (1,), 1.5j]),
)


@settings(max_examples=500, deadline=None)
@given(fields=st.dictionaries(keys, values, max_size=5))
def test_both_loops_agree(c_loop: Callable[..., bool], fields: dict[str, Any]) -> None:
    d_c: dict[str, Any] = {"version": "1.1"}
    d_py: dict[str, Any] = {"version": "1.1"}
    ok_c = c_loop(d_c, fields, NAMES)
    ok_py = _plain.copy_plain_py(d_py, fields, NAMES)
    assert ok_c is ok_py
    plain_names = all(k in NAMES for k in fields)
    plain_values = all(
        type(v) in (str, int, bool, type(None)) or (type(v) is float and math.isfinite(v)) for v in fields.values()
    )
    assert ok_c is (plain_names and plain_values)
    if ok_c:
        assert d_c == d_py == {"version": "1.1", **{NAMES[k]: v for k, v in fields.items()}}
        assert list(d_c) == list(d_py)  # the same order: the line's bytes depend on it


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, IntLike(1), b"x", {"a": 1}, [1], object()],
    ids=["nan", "inf", "-inf", "int-subclass", "bytes", "mapping", "list", "object"],
)
def test_a_value_that_is_not_plain_sends_the_record_to_the_careful_path(
    c_loop: Callable[..., bool], value: object
) -> None:
    for loop in (c_loop, _plain.copy_plain_py):
        assert loop({}, {"a": "fine", "b": value}, NAMES) is False


def test_the_c_loop_never_runs_the_code_of_a_key(c_loop: Callable[..., bool]) -> None:
    fields = {StrKey("a"): 1}
    StrKey.compared = 0
    assert c_loop({}, fields, NAMES) is False
    assert StrKey.compared == 0


def test_the_c_loop_reads_only_plain_dicts(c_loop: Callable[..., bool]) -> None:
    from types import MappingProxyType

    assert c_loop({}, MappingProxyType({"a": 1}), NAMES) is False
    assert c_loop({}, {"a": 1}, MappingProxyType(NAMES)) is False
    d: dict[str, Any] = {}
    assert c_loop(d, {"a": 1, "status": 200}, NAMES) is True and d == {"_a": 1, "_status": 200}
    with pytest.raises(TypeError, match="exactly 3 arguments"):
        c_loop({}, {})


def test_a_key_whose_comparison_raises_answers_false_in_python() -> None:
    class Hostile:
        """Hashes like the cached name ``a``, so the lookup must compare, and comparing raises."""

        def __hash__(self) -> int:
            return hash("a")

        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no comparing")

    assert _plain.copy_plain_py({}, {Hostile(): 1}, NAMES) is False


@pytest.mark.parametrize("accelerated", [True, False], ids=["c", "python"])
def test_the_encoder_writes_the_same_line_with_either_loop(
    monkeypatch: pytest.MonkeyPatch, c_loop: Callable[..., bool], accelerated: bool
) -> None:
    monkeypatch.setattr(_plain, "copy_plain", c_loop if accelerated else _plain.copy_plain_py)
    fields = {"accountId": "ac42", "status": 200, "ratio": 0.5, "ok": True, "gone": None, "bad": math.nan}
    rec = Record("svc.api", 6, "Something is wrong", fields, 1_700_000_000.25)
    encoder = GelfEncoder()
    line = encoder.encode(rec)  # ``bad`` sends it to the careful path, which caches the names
    assert encoder.encode(rec) == line
    del fields["bad"]
    fast = encoder.encode(rec)
    assert fast == line.replace(b',"_bad":"nan"', b"")


def test_logmagic_pure_python_keeps_the_python_loop() -> None:
    code = "from logmagic.encode import _plain; print(_plain.ACCELERATED, _plain.copy_plain is _plain.copy_plain_py)"
    env = {**os.environ, "LOGMAGIC_PURE_PYTHON": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_the_build_hook_compiles_a_module_that_loads(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        import hatch_build
    except ImportError as exc:  # hatchling is only there while pip builds logmagic
        pytest.skip(f"hatchling is not installed here: {exc}")
    finally:
        sys.path.remove(str(ROOT))
    output = tmp_path / ("_speedups" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))
    error = hatch_build._compile(str(ROOT / hatch_build.SOURCE), str(output))
    assert error is None
    spec = importlib.util.spec_from_file_location("logmagic.encode._speedups", output)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    d: dict[str, Any] = {}
    assert module.copy_plain(d, {"a": "x"}, NAMES) is True and d == {"_a": "x"}


def test_the_build_hook_reports_a_compiler_error(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        import hatch_build
    except ImportError as exc:
        pytest.skip(f"hatchling is not installed here: {exc}")
    finally:
        sys.path.remove(str(ROOT))
    broken = tmp_path / "broken.c"
    broken.write_text("this is not C\n")
    error = hatch_build._compile(str(broken), str(tmp_path / "out.so"))
    assert error is not None and "error" in error.lower()
