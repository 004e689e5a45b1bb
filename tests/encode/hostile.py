"""Hostile values for the encoders' tests, shared by the GELF, JSON-lines and console tests.

Every encoder promises one valid line whatever a record's fields hold, so all three are run
against the same values: objects whose ``repr`` and ``str`` raise, objects JSON cannot use,
subclasses of float/int/str, enums, ints beyond 64 bits, NaN and infinities, lone surrogates,
control characters and bidi overrides, keys that are not strings, and dicts and lists that
contain themselves.
"""

from __future__ import annotations

import datetime
import enum
import math
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


class Unprintable:
    """Neither ``repr`` nor ``str`` works."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __str__(self) -> str:
        raise ValueError("no str")


class Opaque:
    """An ordinary object with nothing JSON can use."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n


class FloatLike(float):
    """A float subclass, as numpy's float64 is."""


class IntLike(int):
    """An int subclass."""


class StrLike(str):
    """A str subclass."""


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


def self_dict(d: dict[Any, Any]) -> dict[Any, Any]:
    """A copy of ``d`` that holds itself under ``"self"``."""
    d = dict(d)
    d["self"] = d
    return d


def self_list(items: list[Any]) -> list[Any]:
    """A copy of ``items`` that holds itself as its last item."""
    items = list(items)
    items.append(items)
    return items


SPECIAL_CHARS = ["\ud800", "\udc80", "\udfff", "\x00", "\x07", "\x1b", "\n", "\r", "\t", "\x7f", "\x85", "\x9b"]
SPECIAL_CHARS += ["\u202e", "\u2066", '"', "\\", "=", " ", "é", "\U0001f600"]
any_char = st.one_of(st.characters(codec=None), st.sampled_from(SPECIAL_CHARS))
hostile_text = st.one_of(
    st.text(alphabet=any_char, max_size=30),
    # at least one lone surrogate, control character, quote or bidi override, somewhere
    st.builds("".join, st.tuples(st.text(max_size=10), st.sampled_from(SPECIAL_CHARS), st.text(any_char, max_size=10))),
)
huge_ints = st.sampled_from([2**64, 2**64 + 1, -(2**63) - 1, 10**40, -(10**40), 2**200])
hashable_leaves = st.one_of(
    hostile_text, st.integers(), huge_ints, st.floats(), st.binary(max_size=10), st.booleans(), st.none()
)
hostile_keys = st.one_of(
    hostile_text,
    st.integers(),
    st.tuples(st.integers(), hostile_text),
    st.none(),
    st.floats(),
    st.booleans(),
    st.builds(Unprintable),
    st.builds(Opaque, st.integers()),
    hostile_text.map(StrLike),
)
hostile_leaves = st.one_of(
    hostile_text,
    st.integers(),
    huge_ints,
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.booleans(),
    st.none(),
    st.binary(max_size=20),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.uuids(),
    st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc)),
    st.dates(),
    st.builds(ValueError, hostile_text),
    st.builds(Unprintable),
    st.builds(Opaque, st.integers()),
    st.floats().map(FloatLike),
    st.one_of(st.integers(), huge_ints).map(IntLike),
    hostile_text.map(StrLike),
    st.sampled_from(Color),
    st.frozensets(hashable_leaves, max_size=4),
    st.sets(hashable_leaves, max_size=4),
)
hostile_values = st.recursive(
    hostile_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(hostile_keys, children, max_size=4),
        st.builds(self_dict, st.dictionaries(hostile_keys, children, max_size=3)),
        st.builds(self_list, st.lists(children, max_size=3)),
    ),
    max_leaves=20,
)
hostile_fields = st.dictionaries(hostile_keys, st.one_of(hostile_text, hostile_values), max_size=8)
#: Every logmagic level, EMERG (0) to TRACE8 (15).
levels = st.integers(min_value=0, max_value=15)
#: Record times from the epoch to the year 2242.
timestamps = st.floats(min_value=0, max_value=2**33, allow_nan=False)

#: The settings of the property tests over these values.
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
