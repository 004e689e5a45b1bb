"""Redaction: secrets never leave the process, through any sink."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import pytest

import logmagic
from logmagic import redact
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


# --- the gaps: pairs as lists, padded names, models, environs, URLs, more default names ---------


class CredentialTuple(NamedTuple):
    user: str
    password: str


class PydanticLike:
    """What pydantic 2 looks like from outside: ``model_fields``, ``model_dump``, a telling ``str()``."""

    model_fields: ClassVar[dict[str, Any]] = {"user": None, "password": None}

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password

    def model_dump(self) -> dict[str, Any]:
        return {"user": self.user, "password": self.password}

    def __str__(self) -> str:
        return f"user={self.user!r} password={self.password!r}"


class PydanticOneLike:
    """pydantic 1: ``__fields__`` and ``dict()``."""

    __fields__: ClassVar[dict[str, Any]] = {"user": None, "api_key": None}

    def __init__(self, user: str, api_key: str) -> None:
        self.user, self.api_key = user, api_key

    def dict(self) -> dict[str, Any]:
        return {"user": self.user, "api_key": self.api_key}

    def __repr__(self) -> str:
        return f"PydanticOneLike(user={self.user!r}, api_key={self.api_key!r})"


class Client:
    """An ordinary object whose attributes hold a secret and whose ``repr`` shows them."""

    def __init__(self) -> None:
        self.base_url = "https://api.example.com"
        self.access_token = "hunter2"

    def __repr__(self) -> str:
        return f"Client({self.__dict__})"


ENVIRON = {
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/login",
    "QUERY_STRING": "user=bob&password=hunter2&next=/home",
    "HTTP_AUTHORIZATION": "Basic hunter2",
    "HTTP_COOKIE": "sid=hunter2",
    "HTTP_ACCEPT": "*/*",
}

GAPS: dict[str, Any] = {
    "asgi-pairs-as-lists": [[b"authorization", b"Bearer hunter2"], [b"accept", b"*/*"]],
    "json-pairs-as-lists": [["Authorization", "Bearer hunter2"], ["Accept", "*/*"]],
    "padded-name": {"Authorization ": "Bearer hunter2", " accept": "*/*"},
    "namedtuple": CredentialTuple("bob*/*", "hunter2"),
    "pydantic-2": PydanticLike("bob*/*", "hunter2"),
    "pydantic-1": PydanticOneLike("bob*/*", "hunter2"),
    "object-with-secret-attribute": Client(),
    "wsgi-environ": ENVIRON,
    "url-userinfo": "https://bob:hunter2@db.example.com:5432/app?x=*/*",
    "url-token": "https://api.example.com/v1/items?token=hunter2&page=*/*",
    "url-api-key": "/v1/items?limit=*/*&api_key=hunter2",
    "query-string-password": "password=hunter2&accept=*/*",
}


@pytest.mark.parametrize("value", list(GAPS.values()), ids=list(GAPS))
def test_the_gaps_are_masked_in_every_format(tmp_path: Path, value: Any) -> None:
    logmagic.configure(
        sinks={f: f"file://{tmp_path}/{f}.log?format={f}" for f in ("gelf", "json", "console")},
        routes="__root__=INFO:gelf,json,console",
        env=False,
    )
    logmagic.local("x").info("m", {"value": value, "listed": [value]})
    for fmt in ("gelf", "json", "console"):
        text = (tmp_path / f"{fmt}.log").read_text()
        assert "hunter2" not in text, (fmt, text)
        assert MASK in text, (fmt, text)
        if fmt != "console" and not isinstance(value, Client):
            assert "*/*" in text.replace("\\/", "/"), (fmt, text)  # what is not secret stays


def test_the_gaps_are_masked_for_user_sinks(sink: ListSink) -> None:
    logmagic.local("x").info("m", GAPS)
    assert "hunter2" not in repr(sink.records[0].fields)


@pytest.mark.parametrize(
    "name",
    [
        "pwd",
        "PWD",
        "passphrase",
        "gpg_passphrase",
        "private_key",
        "Private-Key",
        "privateKey",
        "credentials",
        "aws_credentials",
        "session",
        "Session-Id",
        "sessionid",
        "jwt",
        "id_jwt",
        "secret",
        "api_key",
        "API-KEY",
        "access_token",
        "refresh_token",
        "refresh-token",
        " password ",
    ],
)
def test_more_default_names_are_secret(name: str) -> None:
    assert logmagic.redact.ACTIVE is not None and logmagic.redact.ACTIVE.is_secret(name)


@pytest.mark.parametrize("name", ["user", "session_count", "path", "status", "passage"])
def test_innocuous_names_are_not_secret(name: str) -> None:
    assert logmagic.redact.ACTIVE is not None and not logmagic.redact.ACTIVE.is_secret(name)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("https://bob:pw@h/p", f"https://bob:{MASK}@h/p"),
        ("postgres://:pw@h", f"postgres://:{MASK}@h"),
        ("/p?a=1&token=t&b=2", f"/p?a=1&token={MASK}&b=2"),
        ("/p?Access_Token=t#frag", f"/p?Access_Token={MASK}#frag"),
        ("password=pw", f"password={MASK}"),
        ("a=1;session=s", f"a=1;session={MASK}"),
        ("ssh://git@github.com/x", "ssh://git@github.com/x"),
        ("plain text, no url", "plain text, no url"),
        ("x=1&y=2", "x=1&y=2"),
        ("say password=pw in a sentence", "say password=pw in a sentence"),
    ],
)
def test_urls_and_query_strings(text: str, masked: str) -> None:
    assert logmagic.redact.Redactor().text(text) == masked


def test_urls_in_values_are_masked_on_the_loggers_direct_gelf_path(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    logmagic.register_sink("f", f"file://{path}")
    logmagic.route("__root__", logmagic.INFO, "f")
    log = logmagic.local("x")
    log.info("warm", url="https://example.com/")  # the name is cached: the next call may take the fast path
    log.info("m", url="https://bob:hunter2@example.com/?api_key=hunter2")
    line = json.loads(path.read_text().splitlines()[1])
    assert line["_url"] == f"https://bob:{MASK}@example.com/?api_key={MASK}"


def test_an_environ_logged_as_a_field_keeps_only_what_is_not_secret(sink: ListSink) -> None:
    logmagic.local("x").info("m", environ=ENVIRON)
    env = sink.records[0].fields["environ"]
    assert env["QUERY_STRING"] == f"user=bob&password={MASK}&next=/home"
    assert env["HTTP_AUTHORIZATION"] == env["HTTP_COOKIE"] == MASK
    assert env["HTTP_ACCEPT"] == "*/*" and env["PATH_INFO"] == "/login"


def test_prose_masks_what_a_diagnostic_may_quote() -> None:
    red = redact.Redactor()
    text = (
        'bad body: password=hunter2 {"token": "t0k"} Authorization: Bearer abc.def see https://u:pw@h/x?api_key=k&q=1'
    )
    masked = red.prose(text)
    for secret in ("hunter2", "t0k", "abc.def", ":pw@", "=k&"):
        assert secret not in masked
    assert "bad body: password=" in masked and "q=1" in masked and "https://u:" in masked
