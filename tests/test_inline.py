"""``logmagic._inline``: a function rebuilt with its helpers' bodies written in.

The rebuilt function must do what the original does (same results, same side effects, the
caller's variables untouched), hold no call of the helpers, and anything outside the shapes
the module writes in must be refused with ``InlineError`` rather than rebuilt wrongly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logmagic import call_paths
from logmagic._inline import InlineError, inline_calls
from logmagic.encode._plain import write_counted_py

LIMIT = 5  # a constant of the helpers' module: written in as a literal
SEEN: list[Any] = []  # not a constant: handed to the rebuilt function


def checked(x: Any, y: Any) -> Any:
    """A guarded helper: None for what it cannot take, from anywhere in its try."""
    try:
        if type(x) is not int:
            return None
        for i in range(x):
            if i > LIMIT:
                return None
        x = x + y  # assigns to a parameter: the caller's variable must stay as it was
        return x * 2
    except Exception:
        return None


def noted(value: Any) -> Any:
    """An unguarded helper: statements, then one return."""
    SEEN.append(value)
    return len(SEEN)


def outer(a: Any, b: Any) -> tuple[Any, Any, Any]:
    r = checked(a, b)
    n = noted(a)
    return r, n, a


def outer_nested(a: Any) -> Any:
    def inner(b: Any) -> Any:
        r = checked(a, b)
        return r

    return inner


def twice(x: Any) -> Any:
    """A helper whose early return is not None: cannot be written in."""
    if x:
        return 1
    return 2


def outer_twice(x: Any) -> Any:
    r = twice(x)
    return r


def keyworded(a: Any, b: Any) -> Any:
    r = checked(a, y=b)
    return r


def writes(fd: int, data: bytes, counter: Any) -> Any:
    done = write_counted_py(fd, data, counter)
    return done


@given(a=st.one_of(st.integers(-3, 9), st.text(max_size=2), st.none()), b=st.one_of(st.integers(), st.text(max_size=2)))
def test_the_rebuilt_function_does_what_the_original_does(a: Any, b: Any) -> None:
    rebuilt = inline_calls(outer, {"checked": checked, "noted": noted})
    SEEN.clear()
    want = outer(a, b)
    SEEN.clear()
    assert rebuilt(a, b) == want
    assert want[2] is a  # the helper's assignment to its parameter did not reach the caller


def test_the_rebuilt_function_calls_no_helper_and_folds_constants() -> None:
    rebuilt = inline_calls(outer, {"checked": checked, "noted": noted})
    names = rebuilt.__code__.co_names
    assert "checked" not in names and "noted" not in names and "LIMIT" not in names
    assert LIMIT in rebuilt.__code__.co_consts
    assert rebuilt.__kwdefaults__ == {"_noted__SEEN": SEEN}  # the one name that is not a constant


def test_a_call_in_a_nested_function_is_written_in() -> None:
    rebuilt = inline_calls(outer_nested, {"checked": checked})
    for a, b in [(2, 3), (9, 1), ("x", 1), (1, "y")]:
        assert rebuilt(a)(b) == outer_nested(a)(b)


def test_the_rebuilt_function_sees_its_module_s_names_as_they_are_now(monkeypatch: pytest.MonkeyPatch) -> None:
    rebuilt = inline_calls(outer_nested, {"checked": checked})
    monkeypatch.setattr(sys.modules[__name__], "range", lambda n: [LIMIT + 1], raising=False)
    assert outer_nested(2)(0) is None and rebuilt(2)(0) is None


@pytest.mark.parametrize(
    ("fn", "helpers", "why"),
    [
        (outer_twice, {"twice": twice}, "returns early"),
        (keyworded, {"checked": checked}, "other arguments"),
        (outer_twice, {"checked": checked}, "no statement"),
        (print, {"checked": checked}, "no source"),
        (outer_nested(1), {"checked": checked}, "module-level"),
    ],
    ids=["early-return", "keyword-argument", "no-call", "no-source", "nested-function"],
)
def test_what_cannot_be_written_in_is_refused(fn: Any, helpers: dict[str, Any], why: str) -> None:
    with pytest.raises(InlineError, match=why):
        inline_calls(fn, helpers)


def test_a_builtin_shadowed_where_the_helper_is_written_in_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert inline_calls(writes, {"write_counted_py": write_counted_py}) is not None
    monkeypatch.setattr(sys.modules[__name__], "len", lambda a: -1, raising=False)
    with pytest.raises(InlineError, match="'len' means something else"):
        inline_calls(writes, {"write_counted_py": write_counted_py})


def test_without_a_source_the_direct_path_keeps_the_method_that_calls_the_twins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_source(*args: Any) -> Any:
        raise InlineError("no source")

    monkeypatch.setattr(call_paths, "inline_calls", no_source)
    assert call_paths.python_gelf_line_maker() is call_paths.make_gelf_line
    monkeypatch.undo()
    made = call_paths.python_gelf_line_maker()
    assert made is not call_paths.make_gelf_line and "inlined" in made.__code__.co_filename


def test_logmagic_pure_python_makes_its_direct_methods_with_the_generated_maker() -> None:
    code = (
        "from logmagic import call_paths; from logmagic.encode import _plain;"
        "print(_plain.ACCELERATED, call_paths.make_direct is call_paths.make_gelf_line,"
        " call_paths.make_direct.__code__.co_filename)"
    )
    seen = {}
    for pure in ("1", "0"):
        env = {**os.environ, "LOGMAGIC_PURE_PYTHON": pure}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        accelerated, same, filename = out.stdout.strip().split(" ", 2)
        assert same == accelerated  # the C path calls its C steps; pure Python has them written in
        if accelerated == "False":
            assert "plain_gelf_line_py, write_counted_py inlined" in filename
        seen[pure] = accelerated
    assert seen["1"] == "False"
