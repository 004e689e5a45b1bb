"""The start of a plain record's GELF line: the C accelerator, its Python twin, and the C build.

Both must make the same dicts, hence the same lines (the Python twin makes lines only: its dict
is read back from its line here). The C one may send more records to the
careful path than the Python one (a key that is a subclass of ``str``, a mapping that is not
a ``dict``, a timestamp that is not a ``float``), never fewer, and it must never run the code
of a key or a value.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logmagic._safe import MAX_FIELDS, MAX_STRING
from logmagic.encode import _plain
from logmagic.encode.gelf import EMPTY_MESSAGE, GelfEncoder
from logmagic.record import Record
from logmagic.redact import needs_scrub
from logmagic.txn import Scope

from .. import build_hook

REQUIRE_ALL = os.environ.get("LOGMAGIC_REQUIRE_ALL") == "1"

try:
    from logmagic.encode._speedups import plain_gelf_dict as plain_gelf_dict_c
except ImportError:
    plain_gelf_dict_c = None  # type: ignore[assignment]

Make = Callable[..., "dict[str, Any] | None"]


@pytest.fixture(scope="module")
def c_make() -> Make:
    """The C function; skipped when it was not built, a failure under LOGMAGIC_REQUIRE_ALL=1."""
    if plain_gelf_dict_c is None:
        if REQUIRE_ALL:
            pytest.fail("the C accelerator logmagic.encode._speedups was not built (see hatch_build.py)")
        pytest.skip("the C accelerator was not built (no C compiler when logmagic was installed?)")
    return plain_gelf_dict_c


class StrKey(str):
    """A ``str`` subclass whose hashing and comparisons are counted: C must make none."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        StrKey.compared += 1
        return str.__eq__(self, other)

    def __hash__(self) -> int:
        StrKey.compared += 1
        return str.__hash__(self)


class IntLike(int):
    """An ``int`` subclass (``IntEnum`` is one): not a plain value."""


NAMES = {"a": "_a", "b": "_b", "status": "_status", "txnId": "_txnId"}
HOST, FACILITY, TS = "web1", "svc.api", 1_700_000_000.1234


def py_make(
    host: str, msg: str, ts: Any, level: int, facility: str, fields: Any, names: Any, txn: Any, empty: str
) -> dict[str, Any] | None:
    """The Python twin's GELF dict: its line read back, or None where the line is None."""
    line = _plain.plain_gelf_line_py(host, msg, ts, level, facility, fields, names, txn, empty, orjson.dumps, 0)
    return None if line is None else orjson.loads(line)  # type: ignore[no-any-return]


def make(impl: Make, fields: Any, msg: str = "m", ts: Any = TS, txn: Any = None, names: Any = NAMES) -> Any:
    return impl(HOST, msg, ts, 6, FACILITY, fields, names, txn, EMPTY_MESSAGE)


def expected(fields: dict[str, Any], msg: str, ts: float, txn: Any) -> dict[str, Any]:
    """What the dict must be, written out from the GELF rules (docs/gelf.md)."""
    d: dict[str, Any] = {
        "version": "1.1",
        "host": HOST,
        "short_message": msg if msg and not msg.isspace() else EMPTY_MESSAGE,  # Python's own "blank"
        "timestamp": math.trunc(ts * 1000) / 1000 + 0.0,
        "level": 6,
        "_facility": FACILITY,
    }
    d.update({NAMES[k]: v for k, v in fields.items()})
    extra: dict[str, Any] = {}
    if isinstance(txn, Scope):
        txn, extra = txn.txn_id, txn.fields
    if txn is not None and "txnId" not in fields:
        d["_txnId"] = txn
    d.update({NAMES[k]: v for k, v in extra.items() if k not in fields and NAMES[k] not in d})
    return d


keys = st.sampled_from(["a", "b", "status", "txnId", "unknown", "id"])
values = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["a=b", "u@h", "https://u:p@h/?token=t", "=", "@"]),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.none(),
    st.floats(),
    st.sampled_from([IntLike(3), b"x", [1], {"n": 1}, (1,), 1.5j]),
)
messages = st.one_of(st.text(max_size=12), st.sampled_from(["", " ", "\t\n", "\u3000", "\x1c", " x ", "\x00"]))
stamps = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([-0.0, -0.0004, 0.0009, 1e300, math.nan, math.inf, TS]),
)


@settings(max_examples=600, deadline=None)
@given(
    fields=st.dictionaries(keys, values, max_size=5),
    msg=messages,
    ts=stamps,
    txn_id=st.sampled_from([None, ".t1", ".t=1", "t@h"]),
    scope=st.one_of(st.none(), st.dictionaries(keys, values, max_size=3)),
)
def test_c_and_python_make_the_same_dict(
    c_make: Make, fields: dict[str, Any], msg: str, ts: float, txn_id: str | None, scope: dict[str, Any] | None
) -> None:
    txn = txn_id if scope is None else Scope(txn_id, scope)
    made_c = make(c_make, fields, msg, ts, txn)
    made_py = make(py_make, fields, msg, ts, txn)
    added = txn_id is not None and "txnId" not in fields
    # Context fields count where the record has no such name (nor the txnId just added).
    extra = {k: v for k, v in (scope or {}).items() if k not in fields and not (added and k == "txnId")}
    plain = (
        all(k in NAMES for k in [*fields, *extra])
        and all(
            (type(v) is str and not needs_scrub(v))
            or type(v) in (int, bool, type(None))
            or (type(v) is float and math.isfinite(v))
            for v in [*fields.values(), *extra.values()]
        )
        and (not added or not needs_scrub(txn_id))  # type: ignore[arg-type]
    )
    if not plain or not math.isfinite(ts * 1000):
        assert made_c is None and made_py is None
        return
    assert made_c == expected(fields, msg, ts, txn)
    ints = [v for v in [*fields.values(), *extra.values()] if type(v) is int]
    if not all(-(2**63) <= v < 2**64 for v in ints):  # orjson cannot write it: no line
        assert made_py is None
        return
    assert made_py == made_c
    assert list(made_c) == list(made_py)  # the same order: the line's bytes depend on it
    assert math.copysign(1, made_c["timestamp"]) == math.copysign(1, made_py["timestamp"])  # no -0.0


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, IntLike(1), b"x", {"a": 1}, [1], object()],
    ids=["nan", "inf", "-inf", "int-subclass", "bytes", "mapping", "list", "object"],
)
def test_a_value_that_is_not_plain_sends_the_record_to_the_careful_path(c_make: Make, value: object) -> None:
    for impl in (c_make, py_make):
        assert make(impl, {"a": "fine", "b": value}) is None


def test_a_name_not_cached_sends_the_record_to_the_careful_path(c_make: Make) -> None:
    for impl in (c_make, py_make):
        assert make(impl, {"a": 1, "new": 2}) is None
        assert make(impl, {"a": 1}, txn=".t", names={"a": "_a"}) is None  # txnId not cached: maybe secret
        assert make(impl, {"a": 1, "txnId": ".own"}, txn=".t")["_txnId"] == ".own"
        assert make(impl, {"a": 1}, txn=7) is None  # a txnId that is not text


@pytest.mark.parametrize("value", ["a=b", "user@host", "https://u:pw@h/", "/p?token=t"])
def test_text_the_redactor_must_read_sends_the_record_to_the_careful_path(c_make: Make, value: str) -> None:
    for impl in (c_make, py_make):
        assert make(impl, {"a": value}) is None
        assert make(impl, {"a": "x"}, txn=value) is None
        assert make(impl, {"a": "x", "txnId": "own"}, txn=value) is not None  # the fields' own txnId wins


def test_c_and_python_agree_on_the_field_cap(c_make: Make) -> None:
    names = {f"k{i}": f"_k{i}" for i in range(MAX_FIELDS + 1)}
    at_cap = {f"k{i}": i for i in range(MAX_FIELDS)}
    for impl in (c_make, py_make):
        made = make(impl, at_cap, names=names)
        assert made is not None and len(made) == 6 + MAX_FIELDS
        assert make(impl, {**at_cap, f"k{MAX_FIELDS}": 0}, names=names) is None


def test_c_never_runs_the_code_of_a_key(c_make: Make) -> None:
    fields = {StrKey("a"): 1}
    StrKey.compared = 0
    assert make(c_make, fields) is None
    assert StrKey.compared == 0


def test_c_reads_only_plain_dicts_str_messages_and_float_stamps(c_make: Make) -> None:
    assert make(c_make, MappingProxyType({"a": 1})) is None
    assert make(c_make, {"a": 1}, names=MappingProxyType(NAMES)) is None
    assert make(c_make, {"a": 1}, msg=StrKey("m")) is None
    assert make(c_make, {"a": 1}, ts=1_700_000_000) is None
    assert make(c_make, {"a": 1, "status": 200}) == expected({"a": 1, "status": 200}, "m", TS, None)
    with pytest.raises(TypeError, match="exactly 9 arguments"):
        c_make({}, {})


def test_c_leaves_no_reference_behind(c_make: Make) -> None:
    """Every way out (a dict, the careful path, a name not cached) gives back what it took."""
    msg, value, txn, host = ("".join(["m", str(i)]) for i in range(4))  # objects of their own
    tracked = [msg, value, txn, host]
    before = [sys.getrefcount(o) for o in tracked]
    for _ in range(1000):
        made = c_make(host, msg, TS, 6, FACILITY, {"a": value}, NAMES, txn, EMPTY_MESSAGE)
        assert made is not None and made["_a"] is value and made["_txnId"] is txn
        del made
        assert c_make(host, msg, TS, 6, FACILITY, {"a": value, "b": [1]}, NAMES, txn, EMPTY_MESSAGE) is None
        assert c_make(host, msg, TS, 6, FACILITY, {"a": value, "new": 1}, NAMES, txn, EMPTY_MESSAGE) is None
        assert c_make(host, msg, TS, 6, FACILITY, {"a": value}, {"a": "_a"}, txn, EMPTY_MESSAGE) is None
    assert [sys.getrefcount(o) for o in tracked] == before


def test_python_answers_none_for_a_key_whose_comparison_raises() -> None:
    class Hostile:
        """Hashes like the cached name ``a``, so the lookup must compare, and comparing raises."""

        def __hash__(self) -> int:
            return hash("a")

        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no comparing")

    assert make(py_make, {Hostile(): 1}) is None


@pytest.mark.parametrize("accelerated", [True, False], ids=["c", "python"])
@pytest.mark.parametrize("ts", [TS, 1_700_000_000, -0.0], ids=["float", "int", "negative-zero"])
def test_the_encoder_writes_the_same_line_either_way(
    monkeypatch: pytest.MonkeyPatch, c_make: Make, accelerated: bool, ts: float
) -> None:
    from logmagic.encode import _speedups

    line_maker = _speedups.plain_gelf_line if accelerated else _plain.plain_gelf_line_py
    monkeypatch.setattr(_plain, "plain_gelf_line", line_maker)
    fields = {"accountId": "ac42", "status": 200, "ratio": 0.5, "ok": True, "gone": None, "bad": math.nan}
    rec = Record("svc.api", 6, "Something is wrong", fields, ts)
    encoder = GelfEncoder()
    line = encoder.encode(rec)  # ``bad`` sends it to the careful path, which caches the names
    assert encoder.encode(rec) == line
    del fields["bad"]
    assert encoder.encode(rec) == line.replace(b',"_bad":"nan"', b"")


def test_logmagic_pure_python_keeps_the_python_twin() -> None:
    code = (
        "from logmagic.encode import _plain;"
        "print(_plain.ACCELERATED, _plain.plain_gelf_line is _plain.plain_gelf_line_py)"
    )
    env = {**os.environ, "LOGMAGIC_PURE_PYTHON": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_the_build_hook_compiles_a_module_that_loads(tmp_path: Path) -> None:
    module = build_hook.build(build_hook.hatch_build().SOURCE, "logmagic.encode._speedups", tmp_path)
    assert make(module.plain_gelf_dict, {"a": "x"}) == expected({"a": "x"}, "m", TS, None)


def test_the_build_hook_reports_a_compiler_error(tmp_path: Path) -> None:
    hatch_build = build_hook.hatch_build()
    broken = tmp_path / "broken.c"
    broken.write_text("this is not C\n")
    error = hatch_build._compile(str(broken), str(tmp_path / "out.so"))
    assert error is not None and "error" in error.lower()


@pytest.fixture(scope="module")
def c_speedups(c_make: Make) -> Any:
    """The C module itself (skipped, or failed, as ``c_make`` is)."""
    from logmagic.encode import _speedups

    return _speedups


@settings(max_examples=400, deadline=None)
@given(fields=st.dictionaries(keys, values, max_size=5), msg=messages)
def test_c_and_python_keep_the_same_flight_recorder_entry(c_speedups: Any, fields: dict[str, Any], msg: str) -> None:
    """``keep_plain`` (the flight recorder's fast keep) and ``plain_size`` agree with their
    Python twins, and keep exactly when the fields are plain values under cached names."""
    plain = all(k in NAMES for k in fields) and all(
        (type(v) is str and not needs_scrub(v))
        or type(v) in (int, bool, type(None))
        or (type(v) is float and math.isfinite(v))
        for v in fields.values()
    )
    size_c = c_speedups.plain_size(fields, NAMES)
    assert size_c == _plain.plain_size_py(fields, NAMES)
    assert (size_c >= 0) == plain
    if plain:
        assert size_c == sum(_plain.FIELD_SIZE + len(k) + (len(v) if type(v) is str else 0) for k, v in fields.items())
    kept_c: list[Any] = []
    kept_py: list[Any] = []
    clock = iter([TS, TS])
    scope = Scope(".t", {})
    spec = (FACILITY, 7, ())
    got_c = c_speedups.keep_plain(kept_c, fields, NAMES, spec, msg, scope, 200, lambda: next(clock))
    got_py = _plain.keep_plain_py(kept_py, fields, NAMES, spec, msg, scope, 200, lambda: next(clock))
    assert got_c == got_py == (size_c + 200 + len(msg) if plain else -1)
    assert kept_c == kept_py == ([(spec, msg, fields, TS, None, scope, got_c)] if plain else [])


@settings(max_examples=400, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5000), max_size=40),
    accounted=st.integers(0, 40),
    held_else=st.integers(0, 100_000),
    max_records=st.integers(1, 30),
    max_bytes=st.integers(1, 60_000),
    max_total=st.integers(1, 150_000),
)
def test_c_and_python_apply_the_flight_recorder_s_caps_alike(
    c_speedups: Any,
    sizes: list[int],
    accounted: int,
    held_else: int,
    max_records: int,
    max_bytes: int,
    max_total: int,
) -> None:
    """``trim_kept`` (the recorder's caps) agrees with its Python twin, and the caps hold after it."""
    from collections import deque

    accounted = min(accounted, len(sizes))
    size = sum(sizes[:accounted])
    held = size + held_else  # what the other open transactions hold
    made = [deque((("f", 7, ()), "m", {}, 0.0, None, None, n) for n in sizes) for _ in range(2)]
    out_c = c_speedups.trim_kept(made[0], accounted, size, held, max_records, max_bytes, max_total)
    out_py = _plain.trim_kept_py(made[1], accounted, size, held, max_records, max_bytes, max_total)
    assert out_c == out_py
    assert list(made[0]) == list(made[1])
    kept, size_after, held_after, new, dropped, not_kept = out_c
    assert new == len(sizes) - accounted and kept == len(made[0])
    assert dropped + not_kept == len(sizes) - kept
    assert size_after == sum(e[-1] for e in made[0]) and held_after == size_after + held_else
    assert kept <= max_records and (kept == 0 or (size_after <= max_bytes and held_after <= max_total))
    assert [e[-1] for e in made[0]] == sizes[len(sizes) - kept :]  # the oldest went first


#: Text values that make a line just under or over MAX_STRING bytes.
long_texts = st.integers(MAX_STRING - 300, MAX_STRING + 10).map(lambda n: "x" * n)


@settings(max_examples=400, deadline=None)
@given(
    fields=st.dictionaries(keys, st.one_of(values, long_texts)),
    msg=messages,
    ts=stamps,
)
def test_c_and_python_make_the_same_line(c_speedups: Any, fields: dict[str, Any], msg: str, ts: float) -> None:
    """``plain_gelf_line`` (the loggers' direct path) is ``orjson.dumps`` of ``plain_gelf_dict``,
    in C and in Python alike, and None for what the encoder must see (a line over MAX_STRING
    bytes, an int orjson cannot write)."""
    args = (HOST, msg, ts, 6, FACILITY, fields, NAMES, ".t", EMPTY_MESSAGE, orjson.dumps, orjson.OPT_APPEND_NEWLINE)
    line_c = c_speedups.plain_gelf_line(*args)
    assert line_c == _plain.plain_gelf_line_py(*args)
    d = c_speedups.plain_gelf_dict(*args[:9])
    try:
        whole = None if d is None else orjson.dumps(d, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        whole = None
    assert line_c == (whole if whole is not None and len(whole) <= MAX_STRING else None)


def test_c_and_python_write_and_count_alike(c_speedups: Any, tmp_path: Path) -> None:
    """``write_counted`` writes as ``os.write`` does and counts only a whole write; its errors
    are ``os.write``'s (a closed descriptor: ``OSError`` with EBADF; a full pipe that does not
    wait: ``BlockingIOError``), in C and in Python alike."""
    import errno
    import itertools

    for impl in (c_speedups.write_counted, _plain.write_counted_py):
        path = tmp_path / f"{impl.__module__}.out"
        counter = itertools.count()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT)
        try:
            assert impl(fd, b"line\n", counter) == 5
            assert impl(fd, b"", counter) == 0
        finally:
            os.close(fd)
        assert path.read_bytes() == b"line\n" and next(counter) == 2
        with pytest.raises(OSError) as bad:
            impl(fd, b"x", counter)
        assert bad.value.errno == errno.EBADF
        r, w = os.pipe()
        os.set_blocking(w, False)
        try:
            size = 0
            with pytest.raises(BlockingIOError):
                while True:
                    size += impl(w, b"y" * 65536, counter)
            assert next(counter) == 3 + size // 65536  # each whole write counted once
        finally:
            os.close(r)
            os.close(w)
