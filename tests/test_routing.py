"""Route patterns, specificity and validation."""

from __future__ import annotations

import pytest

import logmagic
from logmagic.routing import Route, RouteTable, check_pattern

from .conftest import ListSink


def _table(*patterns: str) -> RouteTable:
    table = RouteTable()
    for i, p in enumerate(patterns):
        table.put(Route(p, i, (p,)))
    return table


@pytest.mark.parametrize(
    ("facility", "expected"),
    [
        ("other", "__root__"),
        ("myapp", "myapp"),
        ("myapp.api", "myapp"),
        ("myapp.db", "myapp.db"),
        ("myapp.db.pool", "myapp.db.*"),
        ("myapp.db.pool.conn", "myapp.db.pool.conn"),
        ("myapp.dbx", "myapp"),  # a prefix of a component is not a descendant
    ],
)
def test_most_specific_pattern_wins(facility: str, expected: str) -> None:
    table = _table("__root__", "myapp.db.*", "myapp", "myapp.db", "myapp.db.pool.conn")
    route = table.match(facility)
    assert route is not None and route.pattern == expected


def test_star_pattern_matches_descendants_only() -> None:
    table = _table("a.b.*")
    assert table.match("a.b") is None
    assert table.match("a.b.c") is not None


def test_setting_a_pattern_again_replaces_it() -> None:
    table = RouteTable()
    table.put(Route("a", 6, ("one",)))
    table.put(Route("a", 7, ("two",)))
    assert [r.sinks for r in table.routes()] == [("two",)]
    assert table.match("a.x") == Route("a", 7, ("two",))


@pytest.mark.parametrize("bad", ["", "a..b", ".a", "a.", "*", "a.*.b", "a b", 5])
def test_bad_patterns_are_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="route pattern"):
        check_pattern(bad)


def test_route_sends_each_facility_to_its_own_sinks(sink: ListSink) -> None:
    db = ListSink()
    logmagic.register_sink("db", db)
    logmagic.route("__root__", logmagic.INFO, "list")
    logmagic.route("myapp.db.*", logmagic.DEBUG, ["db"])
    api, pool = logmagic.local("myapp.api"), logmagic.local("myapp.db.pool")
    api.debug("api debug")
    api.info("api info")
    pool.debug("pool debug")
    assert [r.msg for r in sink.records] == ["api info"]
    assert [r.msg for r in db.records] == ["pool debug"]


def test_a_route_with_no_sinks_silences(sink: ListSink) -> None:
    logmagic.route("noisy", logmagic.EMERG, [])
    logmagic.local("noisy.lib").emerg("quiet")
    logmagic.local("other").info("heard")
    assert [r.msg for r in sink.records] == ["heard"]


def test_listing_one_sink_twice_writes_once(sink: ListSink) -> None:
    logmagic.route("__root__", logmagic.INFO, ["list", "list"])
    logmagic.local("x").info("once")
    assert len(sink.records) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("__root__", "INFO", "nosuch"), "unknown sink 'nosuch'"),
        (("__root__", "LOUD", "console"), "unknown log level"),
        (("__root__", 99, "console"), "0..15"),
        (("a..b", "INFO", "console"), "route pattern"),
        (("__root__", "INFO", [3]), "sinks must be names"),
    ],
)
def test_bad_routes_raise_and_change_nothing(sink: ListSink, args: tuple[object, ...], message: str) -> None:
    before = logmagic.config.routes()
    with pytest.raises(ValueError, match=message):
        logmagic.route(*args)  # type: ignore[arg-type]
    assert logmagic.config.routes() == before
    logmagic.local("x").info("still routed")
    assert len(sink.records) == 1


@pytest.mark.parametrize("pattern", ["app\n", "app.api\n", "app\n.*"])
def test_a_route_pattern_with_a_trailing_newline_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="invalid route pattern"):
        check_pattern(pattern)
