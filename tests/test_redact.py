"""Redaction: secrets never leave the process, through any sink."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import logmagic
from logmagic.redact import MASK

from .conftest import ListSink


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "authorization",
        "HTTP_AUTHORIZATION",
        "Cookie",
        "Set-Cookie",
        "X-Api-Key",
        "HTTP_X_API_KEY",
        "password",
        "db_password",
        "SECRET",
        "client_secret",
        "access_token",
        "api_key",
        "apikey",
        "passwd",
    ],
)
def test_secret_names_are_masked_in_gelf(tmp_path: Path, name: str) -> None:
    path = tmp_path / "out.log"
    logmagic.register_sink("f", f"file://{path}")
    logmagic.route("__root__", logmagic.INFO, "f")
    logmagic.local("x").info("m", {name: "hunter2", "user": "bob"})
    line = path.read_text()
    assert "hunter2" not in line
    rec = json.loads(line)
    assert MASK in rec.values() and rec["_user"] == "bob"


def test_nested_mappings_lists_and_header_pairs_are_masked_in_every_format(tmp_path: Path) -> None:
    logmagic.configure(
        sinks={f: f"file://{tmp_path}/{f}.log?format={f}" for f in ("gelf", "json", "console")},
        routes="__root__=INFO:gelf,json,console",
        env=False,
    )
    headers = {"Cookie": "c=hunter2", "Accept": "*/*"}
    fields: dict[str, Any] = {
        "headers": headers,
        "raw": [("authorization", "Bearer hunter2"), ("accept", "x")],
        "deep": [{"a": {"token": "hunter2"}}],
    }
    logmagic.local("x").info("m", fields)
    for fmt in ("gelf", "json", "console"):
        text = (tmp_path / f"{fmt}.log").read_text()
        assert "hunter2" not in text, fmt
        assert MASK in text and "*/*" in text, fmt
    assert headers == {"Cookie": "c=hunter2", "Accept": "*/*"}  # the caller's objects are untouched


@dataclasses.dataclass
class Credentials:
    user: str
    password: str


def _nested(levels: int, inner: Any) -> Any:
    for _ in range(levels):
        inner = {"a": inner}
    return inner


def _cyclic() -> dict[str, Any]:
    inner: dict[str, Any] = {"password": "hunter2"}
    inner["self"] = inner
    return inner


@pytest.mark.parametrize(
    "value",
    [
        _cyclic(),
        Credentials("bob", "hunter2"),
        [Credentials("bob", "hunter2")],
        _nested(17, {"password": "hunter2"}),
        _nested(40, {"password": "hunter2"}),
        _nested(40, [("authorization", "Bearer hunter2")]),
    ],
    ids=["cycle", "dataclass", "dataclass-in-a-list", "17-deep", "40-deep", "40-deep-header-pair"],
)
def test_dataclasses_and_deep_nesting_are_masked_in_every_format(tmp_path: Path, value: Any) -> None:
    logmagic.configure(
        sinks={f: f"file://{tmp_path}/{f}.log?format={f}" for f in ("gelf", "json", "console")},
        routes="__root__=INFO:gelf,json,console",
        env=False,
    )
    logmagic.local("x").info("m", {"v": value})
    for fmt in ("gelf", "json", "console"):
        text = (tmp_path / f"{fmt}.log").read_text()
        assert "hunter2" not in text, fmt
        if fmt != "console":
            json.loads(text)


@dataclasses.dataclass(frozen=True)
class FrozenCredentials:
    user: str
    password: str


@dataclasses.dataclass
class Connection:
    host: str

    @functools.cached_property
    def api_token(self) -> str:
        return "hunter2"


def _with_extra_attribute() -> Connection:
    conn = Connection("db")
    conn.password = "hunter2"  # type: ignore[attr-defined]
    return conn


def _with_cached_token() -> Connection:
    conn = Connection("db")
    assert conn.api_token == "hunter2"
    return conn


@pytest.mark.parametrize(
    "make",
    [lambda: frozenset({FrozenCredentials("bob", "hunter2")}), _with_extra_attribute, _with_cached_token],
    ids=["dataclass-in-a-frozenset", "attribute-that-is-no-field", "cached-property"],
)
def test_what_a_dataclass_holds_beyond_its_fields_or_inside_a_set_is_not_written(
    tmp_path: Path, make: Callable[[], Any]
) -> None:
    logmagic.configure(
        sinks={f: f"file://{tmp_path}/{f}.log?format={f}" for f in ("gelf", "json", "console")},
        routes="__root__=INFO:gelf,json,console",
        env=False,
    )
    logmagic.local("x").info("m", {"v": make()})
    for fmt in ("gelf", "json", "console"):
        assert "hunter2" not in (tmp_path / f"{fmt}.log").read_text(), fmt


@dataclasses.dataclass(eq=False)
class Node:
    name: str
    password: str = "hunter2"
    prev: Node | None = None
    next: Node | None = None


def test_dataclasses_linked_both_ways_are_written_once_each_with_their_cycles_marked(tmp_path: Path) -> None:
    """Each visit to a dataclass makes a new dict of its fields: the cycle is known by the
    object itself, or every prev/next path would be walked down to the depth limit."""
    nodes = [Node(f"n{i}") for i in range(6)]
    for a, b in itertools.pairwise(nodes):
        a.next, b.prev = b, a
    logmagic.configure(
        sinks={f: f"file://{tmp_path}/{f}.log?format={f}" for f in ("gelf", "json", "console")},
        routes="__root__=INFO:gelf,json,console",
        env=False,
    )
    logmagic.local("x").info("m", {"v": nodes[0]})
    for fmt in ("gelf", "json", "console"):
        text = (tmp_path / f"{fmt}.log").read_text()
        assert "hunter2" not in text, fmt
        assert text.count("n5") == 1 and "<cycle>" in text, fmt  # each node once, back links cut
        assert len(text) < 4096, fmt


def test_a_dataclass_is_flattened_in_gelf_like_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    logmagic.register_sink("f", f"file://{path}")
    logmagic.route("__root__", logmagic.INFO, "f")
    logmagic.local("x").info("m", creds=Credentials("bob", "hunter2"))
    rec = json.loads(path.read_text())
    assert (rec["_creds_user"], rec["_creds_password"]) == ("bob", MASK)


def test_user_sinks_get_masked_copies_and_other_sinks_are_unaffected(sink: ListSink) -> None:
    got: list[dict[str, Any]] = []
    logmagic.register_sink("fn", lambda facility, level, msg, fields: got.append(fields))
    logmagic.route("__root__", logmagic.INFO, ["fn", "list"])
    logmagic.local("x").info("m", password="hunter2", ok=1)
    assert got == [{"password": MASK, "ok": 1}]
    assert sink.fields == [{"password": MASK, "ok": 1}]


def test_fields_added_by_a_rewriter_are_masked_too(sink: ListSink) -> None:
    logmagic.add_rewriter(lambda f, lvl, m, fields: {**fields, "session_token": "hunter2"})
    logmagic.local("x").info("m")
    assert sink.fields == [{"session_token": MASK}]


def test_redaction_is_configurable(sink: ListSink, tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    logmagic.register_sink("f", f"file://{path}")
    logmagic.route("__root__", logmagic.INFO, ["f", "list"])
    log = logmagic.local("x")
    logmagic.configure(redact=["ssn", "*card*"], env=False)
    log.info("m", ssn="1", credit_card_no="2", password="3")
    logmagic.configure(redact=False, env=False)
    log.info("m", password="4")
    first, second = map(json.loads, path.read_text().splitlines())
    assert (first["_ssn"], first["_credit_card_no"], first["_password"]) == (MASK, MASK, "3")
    assert second["_password"] == "4"
    assert [f.get("password") for f in sink.fields] == ["3", "4"]


@pytest.mark.parametrize("bad", ["password", [""], [3], ["**"]])
def test_bad_redact_settings_raise(bad: Any) -> None:
    with pytest.raises(ValueError, match="redact"):
        logmagic.configure(redact=bad, env=False)


def test_secrets_interpolated_into_the_message_are_masked(sink: ListSink) -> None:
    log = logmagic.local("x")
    log.infof(
        "login ${user} with ${password} via ${req.headers}",
        user="bob",
        password="hunter2",
        req={"headers": {"Authorization": "Bearer abc"}},
    )
    (msg,) = [r.msg for r in sink.records]
    assert "hunter2" not in msg and "Bearer abc" not in msg
    assert msg.startswith("login bob with [REDACTED] via ")
    logmagic.configure(redact=False)
    log.infof("${password}", password="hunter2")
    assert sink.records[-1].msg == "hunter2"
