import pytest

import logmagic
from logmagic.levels import LEVEL_NAMES, METHOD_LEVELS, parse_level, syslog_level


def test_numbering_follows_syslog_then_traces() -> None:
    names = ["EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG"]
    names += [f"TRACE{i}" for i in range(1, 9)]
    assert [getattr(logmagic, n) for n in names] == list(range(16))


def test_aliases() -> None:
    assert logmagic.WARN == logmagic.WARNING
    assert logmagic.ERROR == logmagic.ERR
    assert logmagic.DBG == logmagic.DEBUG
    assert logmagic.MSG == logmagic.INFO
    assert logmagic.TRACE == logmagic.TRACE1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("info", 6),
        ("INFO", 6),
        (" warn ", 4),
        ("error", 3),
        ("dbg", 7),
        ("msg", 6),
        ("trace", 8),
        ("trace8", 15),
        ("7", 7),
        (0, 0),
        (15, 15),
    ],
)
def test_parse_level_accepts_names_aliases_and_numbers(text: object, expected: int) -> None:
    assert parse_level(text) == expected


@pytest.mark.parametrize("bad", ["loud", "", 16, -1, True, None, 2.5, "16"])
def test_parse_level_rejects_with_a_clear_message(bad: object) -> None:
    with pytest.raises(ValueError, match="level"):
        parse_level(bad)


def test_every_level_and_alias_has_a_lower_case_method_name() -> None:
    assert set(METHOD_LEVELS) == {n.lower() for n in LEVEL_NAMES.values()} | {"warn", "error", "dbg", "msg", "trace"}


def test_syslog_clamps_trace_levels() -> None:
    assert [syslog_level(n) for n in (0, 7, 8, 15)] == [0, 7, 7, 7]
