"""Configuration: routes, sinks, rewriters, identity, and the LOGMAGIC_* environment variables.

This is the only part of logmagic that raises: a bad route, sink or level is a ``ValueError``
here, at configure time, so that a log call never has to. Every change rebuilds the loggers'
methods once.

Environment (read at the first use of logmagic, by ``configure()`` and by ``reset()``; values override code):

* ``LOGMAGIC_SINKS="name=spec;name=spec"``, e.g. ``main=file:///var/log/app.jsonl?format=json``
* ``LOGMAGIC_ROUTES="pattern=LEVEL:sink[,sink];..."``, e.g.
  ``__root__=INFO:graylog2-stderr;myapp.db=DEBUG:console``. An empty sink list silences.

A malformed value is reported in one line on stderr and ignored: the process still starts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, Union

from logmagic import _propagation, call_paths, logger, redact, request, rewriters
from logmagic import flight_recorder as flight
from logmagic._forklocks import renew_after_fork
from logmagic._identity import IDENTITY, Identity
from logmagic._propagation import Propagation, check_header_name
from logmagic._report import forget_warnings, warn_once
from logmagic.encode.gelf import forget_names
from logmagic.levels import DEBUG, INFO, parse_level
from logmagic.redact import Redactor, set_active
from logmagic.routing import ROOT, Route, RouteTable, check_pattern
from logmagic.sink_specs import BUILTIN, sink_from_spec
from logmagic.sinks import FdSink, GuardedSink, Sink
from logmagic.sinks.queued import QueuedSink

__all__ = [
    "RouteSpec",
    "SinkSpec",
    "State",
    "add_rewriter",
    "close_made",
    "configure",
    "on_reset",
    "parse_routes",
    "parse_sinks",
    "register_sink",
    "remove_rewriter",
    "reset",
    "restore",
    "route",
    "routes",
    "sinks",
    "snapshot",
]

SinkSpec = Union[str, Sink, Callable[[str, int, str, dict[str, Any]], Any]]  # noqa: UP007 (runtime alias on 3.10)
RouteSpec = Union[str, Mapping[str, Any], Iterable[Any]]  # noqa: UP007

_lock = threading.RLock()

renew_after_fork(globals(), "_lock")
_table = RouteTable()
_sinks: dict[str, Sink] = {}  # every sink by name, built-in ones made on first use


def _resolve(facility: str) -> tuple[int, tuple[Sink, ...]]:
    route = _table.match(facility)
    if route is None:
        return (-1, ())
    sinks: list[Sink] = []
    for name in route.sinks:
        sink = _sinks[name]
        if sink not in sinks:
            sinks.append(sink)
    return (route.level, tuple(sinks))


def _make_sink(name: str, spec: SinkSpec) -> Sink:
    if not isinstance(name, str) or not name.strip() or any(c in name for c in ";=,:"):
        raise ValueError(f"invalid sink name {name!r}: a non-empty string without ; = , or :")
    if isinstance(spec, str):
        sink = sink_from_spec(spec)
    elif isinstance(spec, FdSink):
        sink = spec  # logmagic's own line sinks never raise: no guard needed
    elif isinstance(spec, Sink) or hasattr(spec, "emit") or callable(spec):
        if isinstance(spec, Sink) and not spec.name:
            spec.name = name  # its own loss reports and warnings name it too
        sink = GuardedSink(spec, name)
    else:
        raise ValueError(f"sink {name!r}: expected a spec string, a Sink or fn(facility, level, msg, fields)")
    sink.name = name
    return sink


def _sink_named(name: str, sinks: Mapping[str, Sink]) -> Sink:
    """A sink by name: one of ``sinks``, or a built-in made now."""
    sink = sinks.get(name)
    if sink is None:
        if name not in BUILTIN:
            known = sorted({*BUILTIN, *sinks})
            raise ValueError(f"unknown sink {name!r}: register it first (known: {', '.join(known)})")
        sink = BUILTIN[name]()
        sink.name = name
    return sink


def _make_route(pattern: str, level: Any, sinks: Any) -> Route:
    check_pattern(pattern)
    names = [sinks] if isinstance(sinks, str) else list(sinks or ())
    if not all(isinstance(n, str) for n in names):
        raise ValueError(f"route {pattern!r}: sinks must be names (strings), got {sinks!r}")
    return Route(pattern, parse_level(level), tuple(n.strip() for n in names))


def _commit(routes: Iterable[Route] | None, new_sinks: Mapping[str, Sink], replace: bool) -> None:
    """Add or replace ``routes`` (all of them when ``replace``) and ``new_sinks``, as one change."""
    now = State.now()
    table = RouteTable()
    for route in [*(() if replace else now.routes), *(routes or ())]:
        table.put(route)  # the same pattern again replaces its route
    _install(now.but(routes=table.routes(), sinks={**now.sinks, **new_sinks}))


class State:
    """The whole configuration at one moment, in one object: routes, sinks (the objects
    themselves), the rewriter chain, the redactor, host, version, account hook and the
    transaction-id headers (``propagation``).

    Every change is a new ``State`` installed whole by ``_install``: ``route()``,
    ``register_sink()``, ``configure()`` (all or nothing), ``reset()`` (``State.defaults()``),
    ``snapshot()`` and ``restore()`` (``logmagic.testing.capture``). The modules that read
    their part on every log call (``redact.ACTIVE``, ``IDENTITY``, the rewriter chain, the
    request rewriter's account hook, the loggers' resolver) get it from ``_install`` only.
    """

    __slots__ = (
        "account_hook",
        "flight_recorder",
        "host",
        "propagation",
        "redactor",
        "rewriters",
        "routes",
        "sinks",
        "version",
    )

    def __init__(
        self,
        routes: Iterable[Route],
        sinks: Mapping[str, Sink],
        chain: rewriters.Saved,
        redactor: Redactor | None,
        host: str,
        version: str,
        account_hook: tuple[request.AccountHook | None, bool],
        propagation: Propagation = _propagation.DEFAULT,
        flight_recorder: flight.Settings | None = None,
    ) -> None:
        self.routes = list(routes)
        self.sinks = dict(sinks)
        self.rewriters = chain
        self.redactor = redactor
        self.host = host
        self.version = version
        self.account_hook = account_hook
        self.propagation = propagation
        self.flight_recorder = flight_recorder

    @classmethod
    def now(cls) -> State:
        """The configuration in force."""
        with _lock:
            return cls(
                _table.routes(),
                _sinks,
                rewriters.Saved(),
                redact.ACTIVE,
                IDENTITY.host,
                IDENTITY.version,
                request.account_hook_state(),
                _propagation.ACTIVE,
                flight.active(),
            )

    @classmethod
    def defaults(cls) -> State:
        """A fresh process's configuration, before the environment: INFO and up to
        ``graylog2-stderr`` (``console`` on a terminal), the built-in rewriters, default
        redaction, the machine's host name and ``$LOGMAGIC_VERSION``."""
        ident = Identity()
        chain = rewriters.Saved.of([request.request_rewriter], [request.hide_unknown_request], [], "request")
        return cls(_default_routes(), {}, chain, Redactor(), ident.host, ident.version, (None, False))

    def but(self, **changes: Any) -> State:
        """A copy with ``changes`` (``routes=``, ``sinks=``, ``chain=``, ``redactor=``, ...)."""
        fields: dict[str, Any] = {
            "routes": self.routes,
            "sinks": self.sinks,
            "chain": self.rewriters,
            "redactor": self.redactor,
            "host": self.host,
            "version": self.version,
            "account_hook": self.account_hook,
            "propagation": self.propagation,
            "flight_recorder": self.flight_recorder,
        }
        fields.update(changes)
        return State(**fields)


def _install(state: State) -> None:
    """Make ``state`` the configuration, whole or not at all.

    The sinks its routes name are found (or, built-in ones, made) first: an unknown name
    raises ``ValueError`` and nothing changes. Then everything is swapped under the loggers'
    lock (a logger made meanwhile sees the old configuration or the new one, never half of
    each) and every logger is rebuilt; sinks no name refers to any more are closed.
    """
    sinks = dict(state.sinks)
    for route in state.routes:
        for name in route.sinks:
            sinks.setdefault(name, _sink_named(name, sinks))
    old = list(_sinks.values())
    with logger._lock:
        _sinks.clear()
        _sinks.update(sinks)
        _table.clear()
        for route in state.routes:
            _table.put(route)
        rewriters.restore(state.rewriters)
        if redact.ACTIVE is not state.redactor:
            set_active(state.redactor)
            forget_names()
        IDENTITY.host = state.host
        IDENTITY.version = state.version
        request.restore_account_hook(state.account_hook)
        _propagation.set_active(state.propagation)
        flight.set_active(state.flight_recorder)
        logger.set_resolver(_resolve)
    _close_unused(old)


def _close_unused(sinks: Iterable[Sink]) -> None:
    """Close the sinks no name refers to any more (after loggers stopped using them).

    A network sink made here from a spec string is closed for good (``QueuedSink.discard``):
    a level method taken before the change may still reach it, and must not start its worker
    again. A sink object the caller passed in is theirs, and is only closed.
    """
    current = {id(s) for s in _sinks.values()}
    for sink in {id(s): s for s in sinks if id(s) not in current}.values():
        if isinstance(sink, QueuedSink):
            sink.discard(1.0)
        else:
            sink.close(1.0)


def route(pattern: str, level: int | str, sinks: str | Iterable[str]) -> None:
    """Send records of facilities matching ``pattern`` at ``level`` or above to ``sinks``.

    ``__root__`` matches everything, ``a.b`` matches ``a.b`` and below, ``a.b.*`` only below.
    The change applies at once to every logger, including those created earlier.
    """
    with _lock:
        _commit([_make_route(pattern, level, sinks)], {}, replace=False)


def register_sink(name: str, spec: SinkSpec) -> None:
    """Register a sink under ``name``: a spec string, a ``Sink``, or ``fn(facility, level, msg, fields)``."""
    with _lock:
        _commit(None, {name: _make_sink(name, spec)}, replace=False)


def add_rewriter(fn: rewriters.Rewriter) -> None:
    """Append ``fn(facility, level, msg, fields) -> fields`` to the rewriter chain."""
    with _lock:
        rewriters.add(fn)
        logger.rebuild_all()


def remove_rewriter(fn: rewriters.Rewriter) -> None:
    """Remove a rewriter added with ``add_rewriter``."""
    with _lock:
        rewriters.remove(fn)
        logger.rebuild_all()


def parse_routes(value: RouteSpec) -> list[Route]:
    """Routes from the env grammar, a mapping ``{pattern: (level, sinks)}`` or ``(pattern, level, sinks)`` items."""
    if isinstance(value, str):
        out = []
        for entry in value.replace("\n", ";").split(";"):
            entry = entry.strip()
            if not entry:
                continue
            pattern, eq, rest = entry.partition("=")
            level, colon, names = rest.partition(":")
            if not eq or not colon:
                raise ValueError(f"route {entry!r} is malformed: expected pattern=LEVEL:sink[,sink]")
            sinks = [n.strip() for n in names.split(",") if n.strip()]
            out.append(_make_route(pattern.strip(), level.strip(), sinks))
        return out
    if isinstance(value, Mapping):
        items: Iterable[Any] = ((p, *v) if isinstance(v, (tuple, list)) else (p, v) for p, v in value.items())
    else:
        items = value
    out = []
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise ValueError(f"route {item!r} is malformed: expected (pattern, level, sinks)")
        out.append(_make_route(*item))
    return out


def parse_sinks(value: str | Mapping[str, SinkSpec]) -> dict[str, Sink]:
    """Sinks from the env grammar ``name=spec;...`` or a mapping ``{name: spec}``."""
    if isinstance(value, str):
        pairs: list[tuple[str, SinkSpec]] = []
        for entry in value.replace("\n", ";").split(";"):
            entry = entry.strip()
            if not entry:
                continue
            name, eq, spec = entry.partition("=")
            if not eq or not spec.strip():
                raise ValueError(f"sink {entry!r} is malformed: expected name=spec")
            pairs.append((name.strip(), spec.strip()))
    else:
        pairs = list(value.items())
    made: dict[str, Sink] = {}
    try:
        for name, given in pairs:
            if name in made:
                raise ValueError(f"sink {name!r} is defined twice")
            made[name] = _make_sink(name, given)
    except BaseException:
        close_made(made, dict(pairs))
        raise
    return made


def close_made(made: Mapping[str, Sink], specs: Mapping[str, SinkSpec]) -> None:
    """Close the sinks that were opened from spec strings for a configuration that failed.

    A file sink holds an open file; sink objects the caller passed in are theirs, left alone.
    """
    for name, sink in made.items():
        if isinstance(specs.get(name), str):
            sink.close(0.0)


def _env(name: str, parse: Callable[[str], Any]) -> Any:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        warn_once(f"env:{name}:{exc}", f"ignoring {name}: {exc}")  # not again on every configure()
        return None


def _default_routes() -> list[Route]:
    try:
        tty = os.isatty(2)
    except OSError:
        tty = False
    return [Route(ROOT, INFO, ("console" if tty else "graylog2-stderr",))]


def _apply_env() -> None:
    recorder = _env("LOGMAGIC_FLIGHT_RECORDER", _flight_recorder_of)
    if recorder is not None:
        _install(State.now().but(flight_recorder=recorder or None))
    sinks = _env("LOGMAGIC_SINKS", parse_sinks)
    if sinks:
        _commit(None, sinks, replace=False)  # no routes: nothing here can fail
    routes = _env("LOGMAGIC_ROUTES", parse_routes)
    if routes:
        try:
            _commit(routes, {}, replace=False)
        except ValueError as exc:
            warn_once(f"env:LOGMAGIC_ROUTES:{exc}", f"ignoring LOGMAGIC_ROUTES: {exc}")


def configure(
    routes: RouteSpec | None = None,
    sinks: str | Mapping[str, SinkSpec] | None = None,
    *,
    host: str | None = None,
    version: str | None = None,
    rewriters: Iterable[rewriters.Rewriter] | None = None,
    account_id: request.AccountHook | None = None,
    redact: bool | Iterable[str] | None = None,
    txn_header: str | None = None,
    response_header: str | None = None,
    trust_inbound: bool | None = None,
    flight_recorder: bool | int | str | flight.Settings | None = None,
    env: bool = True,
) -> None:
    """Set sinks, routes, identity and rewriters in one call, then apply LOGMAGIC_* on top.

    ``routes`` replaces the whole route table when given (env grammar string, mapping
    ``{pattern: (level, sinks)}`` or ``(pattern, level, sinks)`` items). ``sinks`` adds or
    replaces sinks by name. ``rewriters`` replaces the user's rewriters (the built-in request
    and redaction rewriters stay). ``account_id`` is ``fn(request) -> id`` for the request
    rewriter. ``redact`` is ``False`` (off), ``True`` (the defaults) or a list of names and
    ``*patterns*``. ``txn_header`` names the header the web middleware reads an inbound id
    from and the outbound hooks send it in (default ``X-Txn-Id``), ``response_header`` the one
    that gives it back to the client (default ``X-Response-Id``); ``trust_inbound=False`` makes
    the middleware always make its own id and keep the client's as ``clientTxnId``. A
    middleware's own keywords win over these three. ``flight_recorder`` (a level such as
    ``DEBUG``, a ``FlightRecorder`` with caps, or ``False`` for off) keeps each transaction's
    records below their route's threshold, written only if the transaction fails (see
    docs/flight-recorder.md). Everything is checked before anything
    changes: a ``ValueError`` leaves the configuration as it was.
    """
    with _lock:
        new_sinks = parse_sinks(sinks) if sinks is not None else {}
        try:
            new_routes = parse_routes(routes) if routes is not None else None
            chain = list(rewriters) if rewriters is not None else None
            if chain is not None:
                for fn in chain:
                    if not callable(fn):
                        raise ValueError(f"rewriter {fn!r} is not callable")
            if host is not None and (not isinstance(host, str) or not host):
                raise ValueError(f"host must be a non-empty string, got {host!r}")
            if account_id is not None and not callable(account_id):
                raise ValueError(f"account_id must be callable fn(request) -> id, got {account_id!r}")
            now = State.now()
            propagation = _propagation_of(now.propagation, txn_header, response_header, trust_inbound)
            changes: dict[str, Any] = {"sinks": {**now.sinks, **new_sinks}}
            if new_routes is not None:
                changes["routes"] = new_routes
            if chain is not None:
                changes["chain"] = now.rewriters.with_user(chain)
            if redact is not None:
                changes["redactor"] = _redactor(redact)
            if host is not None:
                changes["host"] = host
            if version is not None:
                changes["version"] = str(version)
            if account_id is not None:
                changes["account_hook"] = (account_id, False)
            changes["propagation"] = propagation
            if flight_recorder is not None:
                changes["flight_recorder"] = _flight_recorder_of(flight_recorder) or None
            _install(now.but(**changes))
        except BaseException:
            close_made(new_sinks, dict.fromkeys(new_sinks, "") if isinstance(sinks, str) else dict(sinks or {}))
            raise
        if env:
            _apply_env()


def _propagation_of(
    now: Propagation, txn_header: str | None, response_header: str | None, trust_inbound: bool | None
) -> Propagation:
    """``now`` with the header options given to ``configure`` (checked: ``ValueError``)."""
    if txn_header is not None:
        now = replace(now, txn_header=check_header_name("txn_header", txn_header))
    if response_header is not None:
        now = replace(now, response_header=check_header_name("response_header", response_header))
    if trust_inbound is not None:
        if not isinstance(trust_inbound, bool):
            raise ValueError(f"trust_inbound must be True or False, got {trust_inbound!r}")
        now = replace(now, trust_inbound=trust_inbound)
    return now


def _flight_recorder_of(value: bool | int | str | flight.Settings) -> flight.Settings | bool:
    """The flight recorder's settings from ``configure`` or ``LOGMAGIC_FLIGHT_RECORDER``:
    ``False`` (or ``off``) for off, ``True`` for DEBUG, a level, or ``FlightRecorder(...)``."""
    if isinstance(value, flight.Settings):
        return value.checked()
    if value is False or (isinstance(value, str) and value.strip().lower() in ("off", "false", "0", "no")):
        return False
    if value is True:
        return flight.Settings(DEBUG)
    try:
        return flight.Settings(parse_level(value))
    except ValueError as exc:
        raise ValueError(f"flight_recorder: {exc}") from None


def _redactor(redact: bool | Iterable[str] | None) -> Redactor | None:
    if redact is None or redact is False:
        return None
    if redact is True:
        return Redactor()
    if isinstance(redact, str):
        raise ValueError("redact must be True, False or a list of names and *patterns*, not a string")
    return Redactor.from_list(redact)


_reset_hooks: list[Callable[[], None]] = []


def on_reset(fn: Callable[[], None]) -> None:
    """Have ``reset()`` call ``fn()`` first: integrations undo what they installed outside logmagic."""
    with _lock:
        if fn not in _reset_hooks:
            _reset_hooks.append(fn)


def reset() -> None:
    """Back to the state of a fresh process: ``State.defaults()``, then the environment.

    Meant for tests. User sinks are flushed and closed; a ``logging`` capture is undone;
    loss counters and said-once warnings start over.
    """
    with _lock:
        for hook in list(_reset_hooks):
            hook()
        call_paths.reset_internal()
        flight.reset_stats()
        forget_warnings()
        _install(State.defaults())  # with no sinks of its own: built-in ones are made afresh
        _apply_env()


def snapshot() -> State:
    """The configuration as it is now; ``restore(snapshot)`` puts it back."""
    return State.now()


def restore(snap: State) -> None:
    """Put the configuration back as it was at ``snap``; loggers follow at once.

    Sinks registered since, which nothing refers to any more, are closed; the snapshot's own
    sinks are reused as they are (not closed, not reopened).
    """
    with _lock:
        _install(snap)


def sinks() -> dict[str, Sink]:
    """Every sink by name (a copy)."""
    with _lock:
        return dict(_sinks)


def routes() -> list[Route]:
    """The route table (a copy), oldest first."""
    with _lock:
        return _table.routes()


# The defaults and the LOGMAGIC_* environment apply from the first import of the configuration
# (the first use of logmagic), not from ``import logmagic``.
reset()
