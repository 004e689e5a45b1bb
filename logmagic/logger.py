"""Local loggers and the registry that rebuilds their methods when the configuration changes.

``logmagic.local("myapp.api")`` returns a logger of a class made for that facility; the
class holds the level methods (``info``, ``dbg``, ``errf``, ...) as plain functions from
``logmagic.call_paths``. A disabled level's method is an empty function; an enabled one is a
closure that already knows its facility, level, sinks and rewriters. Nothing is decided per
call: routes are resolved here, once, when they change.

Why a class per facility rather than functions stored on each logger: every logger of a
facility shares one route, ``bind()`` only needs a new instance (not ~50 new closures), and
CPython caches a method found on the class at each call site, which makes ``log.debug(...)``
on a disabled level cost what calling an empty function costs.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol, cast

from logmagic import call_paths, flight_recorder, rewriters, txn
from logmagic._forklocks import renew_after_fork
from logmagic._safe import safe_str
from logmagic.call_paths import EXC, STACK, _internal_error, merge
from logmagic.levels import ERR, LEVEL_NAMES, METHOD_LEVELS, TRACE1, TRACE8, parse_level
from logmagic.record import Record
from logmagic.sinks.base import Sink

__all__ = ["LocalLogger", "LogMethod", "local", "rebuild_all", "set_resolver"]


class LogMethod(Protocol):
    """``log.info(msg, fields=None, **kw)``: fields as a mapping and/or keyword arguments."""

    def __call__(self, msg: object, fields: Mapping[Any, Any] | None = None, /, **kw: Any) -> None: ...


#: facility -> (threshold level, sinks): what config resolves from the route table.
Resolver = Callable[[str], "tuple[int, tuple[Sink, ...]]"]
Plan = tuple[int, tuple[Callable[[Record], None], ...], "rewriters.Runner | None"]


class LocalLogger:
    """A logger for one facility (a dotted module name such as ``myapp.api.handler``).

    Level methods: ``emerg alert crit err warning notice info debug trace1..trace8`` and the
    aliases ``warn error dbg msg trace``; each has an ``f`` variant (``infof``) that fills
    ``${name}`` from the fields, and ``exception`` logs at ERR with the current traceback.
    """

    #: Set on each facility's class, with the level methods.
    facility: ClassVar[str]
    _plan: ClassVar[Plan]
    _origin: ClassVar[type[LocalLogger]]
    _bound: dict[str, Any]
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

    def __new__(cls, facility: str, bound: Mapping[str, Any] | None = None) -> LocalLogger:
        """A logger of ``facility``'s class, with ``bound`` fields added to every record.

        ``cls`` may be a subclass of ``LocalLogger`` with methods of its own: the facility's
        class then derives from it.
        """
        self = object.__new__(_class_for(cls.__dict__.get("_origin", cls), _facility_name(facility)))
        self._bound = dict(bound) if bound else {}
        return self

    def __init__(self, facility: str, bound: Mapping[str, Any] | None = None) -> None:
        """Nothing to do: ``__new__`` made the logger. Here so subclasses may call ``super().__init__``."""

    def bind(self, **fields: Any) -> LocalLogger:
        """A logger for the same facility that adds ``fields`` to every record."""
        return type(self)(self.facility, {**self._bound, **fields})

    def log(
        self,
        level: int | str,
        msg: object = call_paths.NO_MESSAGE,
        fields: Mapping[Any, Any] | None = None,
        /,
        *args: Any,
        **kw: Any,
    ) -> None:
        """Log at a level given as a number or name (for bridges; the named methods are faster).

        An invalid level is counted and reported as a lost record, never raised.
        """
        try:
            try:
                num = parse_level(level)
            except Exception as exc:
                _internal_error(exc)
                return
            getattr(self, LEVEL_NAMES[num].lower())(msg, fields, *args, **kw)
        except Exception:  # at the recursion limit even a call fails: count, call nothing
            call_paths._internal["dropped"] += 1

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
        ``level`` must be a number 0..15; an invalid one is reported as a lost record. A
        ``timestamp`` that is not a number of seconds between 1970 and 9999 (NaN, infinity, a
        string) is replaced by the time of the call, and ``logmagic_error`` says so.
        """
        try:
            self._forward(level, msg, fields, timestamp, full_message)
        except Exception:  # at the recursion limit even a call fails: count, call nothing
            call_paths._internal["dropped"] += 1

    def _forward(
        self, level: int, msg: object, fields: Mapping[Any, Any] | None, timestamp: float | None, full: str | None
    ) -> None:
        if type(level) is not int or not 0 <= level <= TRACE8:
            shown = safe_str(level, 64) if type(level) is int else f"of type {type(level).__name__}"
            _internal_error(ValueError(f"invalid log level {shown} in forward(): numbers must be in 0..15"))
            return
        threshold, emits, rewrite = self._plan
        recorder = flight_recorder.active()
        if level > threshold:
            if recorder is None or level > recorder.level or not emits:
                return
            scope = txn.get_current()
            if not isinstance(scope, txn.Scope) or scope.recorder is None:
                return
        elif level <= ERR and recorder is not None:
            flight_recorder.replay_current()
            scope = None
        else:
            scope = None
        bad_time = None
        ts = _seconds(timestamp) if timestamp is not None else call_paths._now()
        if not _EPOCH_MIN <= ts < _EPOCH_MAX:  # also NaN: not a number of seconds
            bad_time = f"invalid timestamp {safe_str(timestamp, 64)}: the time of the call is used"
            ts = call_paths._now()
        try:
            if type(msg) is not str:
                msg = safe_str(msg)
            f = call_paths.finish_fields(self.facility, level, msg, merge(self._bound, fields, {}), rewrite)
            if bad_time is not None:
                f.setdefault("logmagic_error", bad_time)
            rec = Record(self.facility, level, msg, f, ts, full)
            if scope is not None:  # below the threshold: kept by the flight recorder
                call_paths.keep(scope.recorder, scope, rec, (self.facility, level, emits))
                return
            for emit in emits:
                emit(rec)
        except Exception as exc:
            if scope is not None:
                _internal_error(exc)
                return
            call_paths.salvage(exc, self.facility, level, msg, (self._bound, fields, {}, ()), rewrite, emits, ts, full)

    def enabled(self, level: int | str) -> bool:
        """Whether records at ``level`` go anywhere (to skip building costly fields).

        An unknown level is never enabled, matching ``log()``, which drops (and reports) a
        record at such a level instead of raising in the caller.
        """
        try:
            num = parse_level(level)
        except Exception:
            return False
        return not call_paths.is_noop(getattr(type(self), LEVEL_NAMES[num].lower()))

    @classmethod
    def _install(cls, threshold: int, sinks: tuple[Sink, ...], rewrite: rewriters.Runner | None) -> None:
        """Rebuild every level method of this facility's class for its current route."""
        emits = tuple(s.emit for s in sinks)
        cls._plan = (threshold if emits else -1, emits, rewrite)
        trigger = rewriters.trigger_of(rewriters.chain()) if rewrite is not None else None
        direct = call_paths.direct_gelf(sinks[0]) if len(sinks) == 1 and (rewrite is None or trigger) else None
        facility = cls.facility
        recorder = flight_recorder.active()
        kept_down_to = recorder.level if recorder is not None and emits else -1
        big = flight_recorder.big_record(recorder) if recorder is not None else 0
        made: dict[int, tuple[call_paths.Method, call_paths.Method]] = {}
        for name, level in METHOD_LEVELS.items():
            if level not in made:
                extra = STACK if level >= TRACE1 else 0
                if emits and level <= threshold:
                    if extra:
                        plain = call_paths.make_rich(facility, level, rewrite, emits, template=False, extra=extra)
                    elif direct is not None:
                        plain = call_paths.make_direct(facility, level, rewrite, trigger, direct)
                    else:
                        plain = call_paths.make_plain(facility, level, rewrite, trigger, emits)
                    templated = call_paths.make_rich(facility, level, rewrite, emits, template=True, extra=extra)
                    made[level] = _replaying((plain, templated)) if recorder and level <= ERR else (plain, templated)
                elif level <= kept_down_to:
                    made[level] = (
                        call_paths.make_recorded(
                            facility, level, rewrite, trigger, emits, template=False, extra=extra, big=big
                        ),
                        call_paths.make_recorded(
                            facility, level, rewrite, trigger, emits, template=True, extra=extra, big=big
                        ),
                    )
                else:
                    made[level] = (call_paths._noop, call_paths._noop)
            setattr(cls, name, made[level][0])
            setattr(cls, name + "f", made[level][1])
        if emits and threshold >= ERR:
            exception = call_paths.make_rich(facility, ERR, rewrite, emits, template=False, extra=EXC)
            cls.exception = call_paths.with_replay(exception) if recorder else exception
        elif kept_down_to >= ERR:
            cls.exception = call_paths.make_recorded(
                facility, ERR, rewrite, trigger, emits, template=False, extra=EXC, big=big
            )
        else:
            cls.exception = call_paths._noop

    def __repr__(self) -> str:
        return f"<LocalLogger {self.facility!r}>"


def _replaying(methods: tuple[call_paths.Method, call_paths.Method]) -> tuple[call_paths.Method, call_paths.Method]:
    """Both methods of a level at ERR or worse, each writing the flight recorder's records first."""
    return (call_paths.with_replay(methods[0]), call_paths.with_replay(methods[1]))


#: The timestamps ``forward`` accepts: unix seconds from 1970 up to the end of year 9999.
_EPOCH_MIN, _EPOCH_MAX = 0.0, 253402300800.0


def _seconds(timestamp: object) -> float:
    """A number (a float subclass such as numpy's too) as float seconds; NaN for anything else."""
    if not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool):
        return math.nan
    try:
        return float(timestamp)
    except Exception:  # a subclass whose __float__ raises, an int too big for a float
        return math.nan


_lock = threading.RLock()

renew_after_fork(globals(), "_lock")
#: (logger class, facility) -> the facility's class. A class lives while a logger of it does
#: (it goes away at the next garbage collection after its last logger).
_classes: weakref.WeakValueDictionary[tuple[type[LocalLogger], str], type[LocalLogger]]
_classes = weakref.WeakValueDictionary()


def _no_route(facility: str) -> tuple[int, tuple[Sink, ...]]:
    return (-1, ())


_resolve: Resolver = _no_route


def _class_for(origin: type[LocalLogger], facility: str) -> type[LocalLogger]:
    """The class of ``facility``'s loggers of class ``origin``, made with its methods on first use."""
    key = (origin, facility)
    cls = _classes.get(key)
    if cls is None:
        with _lock:
            cls = _classes.get(key)
            if cls is None:
                namespace = {"facility": facility, "_origin": origin}
                made = cast(type[LocalLogger], type(origin.__name__, (origin,), namespace))
                made._install(*_resolve(facility), rewriters.compile_chain(rewriters.chain()))
                # setdefault: a signal handler may have made the same class meanwhile (the lock is reentrant).
                cls = _classes.setdefault(key, made)
    return cls


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
        for (_origin, facility), cls in list(_classes.items()):
            cls._install(*_resolve(facility), rewrite)


def _facility_name(facility: object) -> str:
    """``facility`` as an exact ``str``: a subclass's own ``__hash__``/``__eq__``/``__len__``
    (which may raise) never run, and anything else is made text; empty: ``__unnamed__``."""
    if type(facility) is not str:
        facility = str.__str__(facility) if isinstance(facility, str) else safe_str(facility)
    return facility or "__unnamed__"


def local(facility: str) -> LocalLogger:
    """The logger for ``facility``, usually the module's dotted name."""
    return LocalLogger(facility)
