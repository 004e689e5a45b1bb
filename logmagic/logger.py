"""Local loggers and the registry that rebuilds their methods when the configuration changes.

``logmagic.local("myapp.api")`` returns a logger whose level methods (``info``, ``dbg``,
``errf``, ...) are plain functions stored on the instance. A disabled level's method is an
empty function; an enabled one is a closure that already knows its facility, level, sinks and
rewriters. Nothing is decided per call: routes are resolved here, once, when they change.
"""

from __future__ import annotations

import re
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from logmagic import redact, rewriters, txn
from logmagic._report import REPORTER
from logmagic.encode._safe import describe_exception, safe_str
from logmagic.levels import ERR, LEVEL_NAMES, METHOD_LEVELS, TRACE1, TRACE8, parse_level
from logmagic.record import Record
from logmagic.sinks.base import Sink


class LogMethod(Protocol):
    """``log.info(msg, fields=None, **kw)``: fields as a mapping and/or keyword arguments."""

    def __call__(self, msg: object, fields: Mapping[Any, Any] | None = None, /, **kw: Any) -> None: ...


#: facility -> (threshold level, sinks): what config resolves from the route table.
Resolver = Callable[[str], "tuple[int, tuple[Sink, ...]]"]

_now = time.time
_txn_get = txn.get_current
_PLACEHOLDER = re.compile(r"\$\{([^{}]+)\}")
_NO_FIELDS: dict[str, Any] = {}


def _noop(msg: object = None, fields: object = None, /, **kw: Any) -> None:
    """A disabled level: costs one empty call."""


def _internal_error(exc: BaseException) -> None:
    REPORTER.lost("logmagic", f"internal error: {describe_exception(exc)}")


def _merge(bound: dict[str, Any], fields: Any, kw: dict[str, Any]) -> dict[str, Any]:
    """The record's own fields: bound, then the positional mapping, then keywords."""
    if fields is None:
        return {**bound, **kw} if bound else kw
    if type(fields) is dict or isinstance(fields, Mapping):
        return {**bound, **fields, **kw}
    return {**bound, "fields": fields, **kw}


def interpolate(msg: str, fields: Mapping[str, Any]) -> str:
    """Replace ``${name}`` (or ``${a.b}`` for nested mappings) by field values; unknown names stay.

    Redaction applies here too: a secret field interpolated into the message shows the mask,
    since the message itself is never redacted at the sink boundary.
    """
    red = redact.ACTIVE

    def value(m: re.Match[str]) -> str:
        cur: Any = fields
        for part in m.group(1).split("."):
            if not isinstance(cur, Mapping) or part not in cur:
                return m.group(0)
            if red is not None and red.is_secret(part):
                return redact.MASK
            cur = cur[part]
        return safe_str(cur if red is None else red.value(cur))

    return _PLACEHOLDER.sub(value, msg)


def _make_plain(
    facility: str,
    level: int,
    bound: dict[str, Any],
    rewrite: rewriters.Runner | None,
    emits: tuple[Callable[[Record], None], ...],
) -> LogMethod:
    """The common method: no interpolation, no stack. Kept minimal: it is the hot path."""
    one = emits[0] if len(emits) == 1 else None

    def method(msg: object, fields: Mapping[Any, Any] | None = None, /, **kw: Any) -> None:
        try:
            if fields is None and not bound:
                f = kw
            else:
                f = _merge(bound, fields, kw)
            if type(msg) is not str:
                msg = safe_str(msg)
            if rewrite is not None:
                f = rewrite(facility, level, msg, f)
            t = _txn_get()
            if t is not None and "txnId" not in f:
                f["txnId"] = t
            if one is not None:
                one(Record(facility, level, msg, f, _now(), None))
            else:
                rec = Record(facility, level, msg, f, _now(), None)
                for emit in emits:
                    emit(rec)
        except Exception as exc:
            _internal_error(exc)

    return method


_STACK, _EXC = 1, 2


def _make_rich(
    facility: str,
    level: int,
    bound: dict[str, Any],
    rewrite: rewriters.Runner | None,
    emits: tuple[Callable[[Record], None], ...],
    *,
    template: bool,
    extra: int,
) -> LogMethod:
    """Methods that interpolate ``${name}`` (the ``f`` variants), add a stack or a traceback."""

    def method(msg: object, fields: Mapping[Any, Any] | None = None, /, **kw: Any) -> None:
        try:
            ts = _now()
            full = None
            if extra == _STACK:
                full = "".join(traceback.format_stack(sys._getframe(1)))
            elif extra == _EXC and sys.exc_info()[1] is not None:
                full = traceback.format_exc()
            f = _merge(bound, fields, kw)
            if type(msg) is not str:
                msg = safe_str(msg)
            if rewrite is not None:
                f = rewrite(facility, level, msg, f)
            t = _txn_get()
            if t is not None and "txnId" not in f:
                f["txnId"] = t
            if template:
                msg = interpolate(msg, f)
            rec = Record(facility, level, msg, f, ts, full)
            for emit in emits:
                emit(rec)
        except Exception as exc:
            _internal_error(exc)

    return method


class LocalLogger:
    """A logger for one facility (a dotted module name such as ``myapp.api.handler``).

    Level methods: ``emerg alert crit err warning notice info debug trace1..trace8`` and the
    aliases ``warn error dbg msg trace``; each has an ``f`` variant (``infof``) that fills
    ``${name}`` from the fields, and ``exception`` logs at ERR with the current traceback.
    """

    facility: str
    _plan: tuple[int, tuple[Callable[[Record], None], ...], rewriters.Runner | None]
    emerg: LogMethod
    alert: LogMethod
    crit: LogMethod
    err: LogMethod
    error: LogMethod
    warning: LogMethod
    warn: LogMethod
    notice: LogMethod
    info: LogMethod
    msg: LogMethod
    debug: LogMethod
    dbg: LogMethod
    trace: LogMethod
    trace1: LogMethod
    trace2: LogMethod
    trace3: LogMethod
    trace4: LogMethod
    trace5: LogMethod
    trace6: LogMethod
    trace7: LogMethod
    trace8: LogMethod
    emergf: LogMethod
    alertf: LogMethod
    critf: LogMethod
    errf: LogMethod
    errorf: LogMethod
    warningf: LogMethod
    warnf: LogMethod
    noticef: LogMethod
    infof: LogMethod
    msgf: LogMethod
    debugf: LogMethod
    dbgf: LogMethod
    tracef: LogMethod
    trace1f: LogMethod
    trace2f: LogMethod
    trace3f: LogMethod
    trace4f: LogMethod
    trace5f: LogMethod
    trace6f: LogMethod
    trace7f: LogMethod
    trace8f: LogMethod
    exception: LogMethod

    def __init__(self, facility: str, bound: Mapping[str, Any] | None = None) -> None:
        self.facility = facility
        self._bound: dict[str, Any] = dict(bound) if bound else {}
        with _lock:
            _loggers.add(self)
            self._install(*_resolve(facility), rewriters.compile_chain(rewriters.chain()))

    def bind(self, **fields: Any) -> LocalLogger:
        """A logger for the same facility that adds ``fields`` to every record."""
        return LocalLogger(self.facility, {**self._bound, **fields})

    def log(self, level: int | str, msg: object, fields: Mapping[Any, Any] | None = None, /, **kw: Any) -> None:
        """Log at a level given as a number or name (for bridges; the named methods are faster)."""
        try:
            num = parse_level(level)
        except ValueError as exc:
            _internal_error(exc)
            return
        getattr(self, LEVEL_NAMES[num].lower())(msg, fields, **kw)

    def forward(
        self,
        level: int,
        msg: object,
        fields: Mapping[Any, Any] | None = None,
        /,
        *,
        timestamp: float | None = None,
        full_message: str | None = None,
    ) -> None:
        """Log a record made elsewhere, keeping its time and traceback (for bridges from other loggers).

        Same path as the level methods (bound fields, rewriters, txnId, this facility's route),
        but ``timestamp`` (default: now) and ``full_message`` come from the caller, and
        ``level`` must be a number 0..15; an invalid one is reported as a lost record.
        """
        try:
            threshold, emits, rewrite = self._plan
            if type(level) is not int or not 0 <= level <= TRACE8:
                raise ValueError(f"invalid log level {level!r} in forward(): numbers must be in 0..15")
            if level > threshold:
                return
            f = _merge(self._bound, fields, {})
            if type(msg) is not str:
                msg = safe_str(msg)
            if rewrite is not None:
                f = rewrite(self.facility, level, msg, f)
            t = _txn_get()
            if t is not None and "txnId" not in f:
                f["txnId"] = t
            rec = Record(self.facility, level, msg, f, _now() if timestamp is None else timestamp, full_message)
            for emit in emits:
                emit(rec)
        except Exception as exc:
            _internal_error(exc)

    def enabled(self, level: int | str) -> bool:
        """Whether records at ``level`` go anywhere (to skip building costly fields).

        An unknown level is never enabled, matching ``log()``, which drops (and reports) a
        record at such a level instead of raising in the caller.
        """
        try:
            num = parse_level(level)
        except ValueError:
            return False
        return getattr(self, LEVEL_NAMES[num].lower()) is not _noop

    def _install(self, threshold: int, sinks: tuple[Sink, ...], rewrite: rewriters.Runner | None) -> None:
        """Rebuild every level method for the current route of this facility."""
        emits = tuple(s.emit for s in sinks)
        self._plan = (threshold if emits else -1, emits, rewrite)
        bound = self._bound
        facility = self.facility
        made: dict[int, tuple[LogMethod, LogMethod]] = {}
        for name, level in METHOD_LEVELS.items():
            if level not in made:
                if emits and level <= threshold:
                    extra = _STACK if level >= TRACE1 else 0
                    plain = (
                        _make_rich(facility, level, bound, rewrite, emits, template=False, extra=extra)
                        if extra
                        else _make_plain(facility, level, bound, rewrite, emits)
                    )
                    made[level] = (
                        plain,
                        _make_rich(facility, level, bound, rewrite, emits, template=True, extra=extra),
                    )
                else:
                    made[level] = (_noop, _noop)
            self.__dict__[name], self.__dict__[name + "f"] = made[level]
        enabled = emits and threshold >= ERR
        self.exception = (
            _make_rich(facility, ERR, bound, rewrite, emits, template=False, extra=_EXC) if enabled else _noop
        )

    def __repr__(self) -> str:
        return f"<LocalLogger {self.facility!r}>"


_lock = threading.RLock()
_loggers: weakref.WeakSet[LocalLogger] = weakref.WeakSet()


def _no_route(facility: str) -> tuple[int, tuple[Sink, ...]]:
    return (-1, ())


_resolve: Resolver = _no_route


def set_resolver(resolve: Resolver) -> None:
    """Install a new route resolver and rebuild every live logger with it."""
    global _resolve
    with _lock:
        _resolve = resolve
        rebuild_all()


def rebuild_all() -> None:
    """Rebuild every live logger's methods (after a change of routes, sinks or rewriters)."""
    with _lock:
        rewrite = rewriters.compile_chain(rewriters.chain())
        plans: dict[str, tuple[int, tuple[Sink, ...]]] = {}
        for logger in list(_loggers):
            plan = plans.get(logger.facility)
            if plan is None:
                plan = plans[logger.facility] = _resolve(logger.facility)
            logger._install(*plan, rewrite)


def local(facility: str) -> LocalLogger:
    """The logger for ``facility``, usually the module's dotted name."""
    if not isinstance(facility, str) or not facility:
        facility = safe_str(facility) or "__unnamed__"
    return LocalLogger(facility)
