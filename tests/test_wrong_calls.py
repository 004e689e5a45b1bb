"""A wrong log call is a record saying what was wrong, never an exception, at any level.

Enabled and disabled methods take the same arguments, so turning a level on never turns a
call that worked into a ``TypeError``. Hostile levels and facility names, and a call made a
few frames below the recursion limit, do not raise either.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import logmagic
from logmagic import call_paths

from .conftest import ListSink

#: Level methods of each kind of path: plain, templated, traceback, stack (trace levels).
METHODS = ["debug", "infof", "exception", "trace3"]


def call(log: logmagic.LocalLogger, name: str, *args: Any, **kw: Any) -> None:
    getattr(log, name)(*args, **kw)


@pytest.mark.parametrize("name", METHODS)
def test_a_call_without_a_message_is_a_record_saying_so(sink: ListSink, name: str) -> None:
    call(logmagic.local("app"), name)
    [rec] = sink.records
    assert rec.msg == "" and "without a message" in rec.fields["logmagic_error"]


@pytest.mark.parametrize("name", METHODS)
def test_extra_positional_arguments_are_kept_and_the_call_is_named_wrong(sink: ListSink, name: str) -> None:
    call(logmagic.local("app"), name, "hello", {"a": 1}, "x", 2, b=3)
    [rec] = sink.records
    assert (rec.msg, rec.fields["a"], rec.fields["b"], rec.fields["args"]) == ("hello", 1, 3, ["x", 2])
    assert "2 more positional argument" in rec.fields["logmagic_error"]


@pytest.mark.parametrize("name", METHODS)
def test_a_disabled_level_takes_the_same_wrong_calls_and_writes_nothing(sink: ListSink, name: str) -> None:
    logmagic.route("__root__", logmagic.EMERG, "list")
    log = logmagic.local("app")
    call(log, name)
    call(log, name, "hello", {"a": 1}, "x", 2, b=3)
    assert sink.records == []


def test_the_direct_gelf_path_writes_a_wrong_call_as_one_valid_line(tmp_path: Path) -> None:
    target = tmp_path / "app.log"
    logmagic.register_sink("f", f"file://{target}")
    logmagic.route("__root__", logmagic.INFO, "f")
    log = logmagic.local("app")
    log.info()
    log.info("hello", None, "extra")
    first, second = (json.loads(line) for line in target.read_text().splitlines())
    assert "without a message" in first["_logmagic_error"]
    assert (second["short_message"], second["_args"]) == ("hello", '["extra"]')
    assert "1 more positional argument" in second["_logmagic_error"]


class Unprintable:
    """A level whose repr raises."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


class Level(int):
    """An int level whose repr raises."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@pytest.mark.parametrize("level", [Unprintable(), Level(99)], ids=["object", "int subclass"])
def test_a_level_whose_repr_raises_is_reported_not_raised(sink: ListSink, level: Any) -> None:
    log = logmagic.local("app")
    assert log.enabled(level) is False
    log.log(level, "m")
    log.forward(level, "m")
    assert sink.records == []
    assert logmagic.stats()["logmagic"]["dropped"] == 2


def test_a_level_name_in_other_digits_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        logmagic.parse_level("٣")  # Arabic-Indic three: int() would take it


class HostileName(str):
    """A facility name whose own methods raise."""

    def __hash__(self) -> int:
        raise RuntimeError("no hash")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no eq")

    def __len__(self) -> int:
        raise RuntimeError("no len")


def test_a_str_subclass_whose_hash_raises_is_a_facility_name(sink: ListSink) -> None:
    log = logmagic.local(HostileName("svc.api"))
    log.info("hello")
    assert type(log.facility) is str and log.facility == "svc.api"
    assert [(r.facility, r.msg) for r in sink.records] == [("svc.api", "hello")]


def escapes_near_the_recursion_limit(log_call: Callable[[], None]) -> list[str]:
    """Files of the innermost frame of each RecursionError a log call let out, called at every
    depth from the limit up; frames of logmagic there mean it escaped from inside."""
    found: list[str] = []

    def deeper(n: int) -> None:
        try:
            deeper(n + 1)
        except RecursionError:
            pass
        try:
            log_call()
        except RecursionError as exc:
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            if tb is not None:
                found.append(tb.tb_frame.f_code.co_filename)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        deeper(0)
    finally:
        sys.setrecursionlimit(limit)
    return [f for f in found if f != __file__]


@pytest.mark.parametrize("route", ["list", "graylog2-stderr", "console"])
@pytest.mark.parametrize("name", [*METHODS, "log", "forward"])
def test_no_recursion_error_escapes_a_log_call_near_the_limit(
    sink: ListSink, route: str, name: str, capfd: pytest.CaptureFixture[str]
) -> None:
    logmagic.route("__root__", logmagic.TRACE8, route)
    log = logmagic.local("app")
    fields = {"a": {"b": [1, 2, {"c": object()}]}, "n": 1}
    calls: dict[str, Callable[[], None]] = {
        "log": lambda: log.log("INFO", "near the limit", fields),
        "forward": lambda: log.forward(logmagic.INFO, "near the limit", fields),
    }
    assert escapes_near_the_recursion_limit(calls.get(name) or (lambda: call(log, name, "near", fields))) == []
    capfd.readouterr()


def test_the_loss_of_a_record_at_the_recursion_limit_is_counted(sink: ListSink) -> None:
    log = logmagic.local("app")
    escapes_near_the_recursion_limit(lambda: log.infof("near the limit", {"a": {"b": [1, {"c": object()}]}}))
    written = len(sink.records)
    lost = call_paths.internal_stats()["dropped"]
    assert written > 0 and lost > 0  # some calls got their record out, the rest were counted
