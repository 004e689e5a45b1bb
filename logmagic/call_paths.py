"""The functions a logger's level methods are made of (its call paths), built once per configuration change.

Each facility's logger class holds one function per level name (see ``logmagic.logger``). A
disabled level holds ``_noop``; an enabled one holds a closure that already knows its
facility, level, sinks and rewriters, so nothing is decided per call. Three kinds:

* ``make_plain``: the general path. Merge the fields, run the rewriters, add the current
  txnId, build a ``Record`` and hand it to each sink.
* ``make_gelf_line``: the same call when the route has exactly one sink and it is one of
  logmagic's own sinks of GELF lines (stderr, a file, or a network sink). It builds the GELF
  line itself (``logmagic.encode._plain``, in C where it was built) and writes or queues it,
  with no ``Record`` and no sink call, when every field is a plain value under a known name;
  anything else (a nested mapping, a NaN, a name never seen or a secret one, a line long
  enough for the encoder to cut) goes through the sink's encoder exactly as ``make_plain``
  would send it. Its
  output must stay byte-for-byte what ``GelfEncoder`` writes for the same record;
  tests/test_call_paths.py checks that over generated records.
* ``make_rich``: the ``f`` variants (``${name}`` interpolation), trace levels (a call stack)
  and ``exception`` (the traceback).
"""

from __future__ import annotations

import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from logmagic import redact, rewriters, txn
from logmagic._fdio import EXIT as _EXIT
from logmagic._forklocks import renew_after_fork
from logmagic._identity import IDENTITY
from logmagic._inline import InlineError, inline_calls
from logmagic._report import REPORTER, warn_once
from logmagic._safe import describe_exception, safe_key, safe_str
from logmagic.encode import _plain
from logmagic.encode.gelf import EMPTY_MESSAGE, NAMES
from logmagic.encode.gelf import learn_names as _learn_names
from logmagic.flight_recorder import ENTRY_SIZE as _ENTRY_SIZE
from logmagic.flight_recorder import estimate as _estimate
from logmagic.levels import LEVEL_NAMES
from logmagic.record import Record
from logmagic.sinks.queued import QueuedSink
from logmagic.sinks.stream import FdSink

#: What a level method is, as stored on the logger class: ``fn(logger, msg, fields=None, **kw)``.
Method = Callable[..., None]
Emit = Callable[[Record], None]

_now = time.time
_txn_get = txn.get_current
_Scope = txn.Scope
add_scope = txn.add_scope
_redacted = redact.stage
_dumps = orjson.dumps
_next = next
#: The direct path's line and its counted write, and the flight recorder's keep: made in C where that
#: was built (see ``logmagic.encode._plain``).
_plain_gelf_line = _plain.plain_gelf_line
_write_counted = _plain.write_counted
_keep_plain = _plain.keep_plain
_NEWLINE = orjson.OPT_APPEND_NEWLINE
_PLACEHOLDER = re.compile(r"\$\{([^{}]+)\}")

STACK, EXC = 1, 2
#: A key no field dict holds: ``make_gelf_line``'s rewriter trigger when there is no rewriter.
_NEVER = object()


class _NoMessage:
    """The message of a log call that gave none: a wrong call, logged with ``logmagic_error``."""

    __slots__ = ()

    def __str__(self) -> str:
        return ""

    def __repr__(self) -> str:
        return "<no message>"


#: The default of every level method's ``msg``: enabled and disabled methods take the same
#: arguments, so a call that is wrong (no message, extra positional arguments) is never a
#: ``TypeError`` that appears only once an operator turns the level on.
NO_MESSAGE: Any = _NoMessage()


def _noop(self: object, msg: object = NO_MESSAGE, fields: object = None, /, *args: Any, **kw: Any) -> None:
    """A disabled level: costs one empty call."""


def is_noop(method: object) -> bool:
    """Whether ``method`` (as stored on a logger class) is a disabled level."""
    return method is _noop


#: Records lost inside logmagic rather than in a sink (an invalid level, a failed salvage).
_internal = {"dropped": 0}
_internal_lock = threading.RLock()  # reentrant: a signal handler may log while it is held

renew_after_fork(globals(), "_internal_lock")


def _internal_error(exc: BaseException) -> None:
    with _internal_lock:
        _internal["dropped"] += 1
    try:
        REPORTER.lost("logmagic", f"internal error: {describe_exception(exc)}")
    except Exception:  # too near the recursion limit to say more: the count holds the loss
        pass


def wrong_call(level: int, msg: object, args: tuple[Any, ...]) -> TypeError:
    """What a level method raises (and salvages) for a call without a message or with extra
    positional arguments; the extra arguments are kept in the record as the field ``args``."""
    name = LEVEL_NAMES.get(level, str(level)).lower()
    if msg is NO_MESSAGE:
        return TypeError(f"{name}() was called without a message")
    return TypeError(f"{name}() takes a message and one mapping of fields; {len(args)} more positional argument(s)")


def internal_stats() -> dict[str, int]:
    """``{"dropped": n}``: records lost inside logmagic itself, reported as sink ``logmagic``."""
    with _internal_lock:
        return dict(_internal)


def salvage(
    exc: Exception,
    facility: str,
    level: int,
    msg: object,
    parts: tuple[Any, Any, Any, tuple[Any, ...]],
    rewrite: rewriters.Runner | None,
    emits: tuple[Emit, ...],
    ts: float | None = None,
    full: str | None = None,
) -> None:
    """Write a record its level method failed on, rather than lose it. Never raises.

    The usual cause is a field key whose ``__eq__`` raises: a lookup such as ``"txnId" in
    fields`` then fails; another is a wrong call (``wrong_call``). ``parts`` are the call's
    (bound, fields, keywords, extra positional arguments); they are merged
    again with every key made text, and the record goes through the rewriters again, with
    ``logmagic_error`` saying what went wrong. If that fails too, the message is written with
    ``logmagic_error`` alone: the fields are dropped, never written unredacted.
    """
    try:
        text = msg if type(msg) is str else safe_str(msg)
        try:
            fields = finish_fields(facility, level, text, _text_keys(*parts), rewrite)
            fields.setdefault("logmagic_error", describe_exception(exc))
        except Exception as again:
            fields = {"logmagic_error": describe_exception(again)}
        rec = Record(facility, level, text, fields, _now() if ts is None else ts, full)
        for emit in emits:
            emit(rec)
        _say_once(exc, facility)
    except Exception as last:
        _internal_error(last)


def reset_internal() -> None:
    """Count internal losses from zero (``logmagic.reset()``)."""
    with _internal_lock:
        _internal["dropped"] = 0


def _say_once(exc: Exception, facility: str) -> None:
    """Tell the developer once per kind of exception; the line itself holds ``logmagic_error``."""
    warn_once(
        f"salvaged:{type(exc).__qualname__}",
        f"a record of {facility!r} could not be written as logged ({describe_exception(exc)}); written"
        f" with _logmagic_error instead (said once per kind of error)",
    )


def finish_fields(
    facility: str, level: int, msg: str, fields: dict[Any, Any], rewrite: rewriters.Runner | None
) -> dict[Any, Any]:
    """The pipeline's steps after the merge: run the rewriters, add the current txnId and
    ``context`` fields unless the fields name them already, then redact (``redact.stage``):
    what every sink receives.

    The fast methods (``make_plain``, ``make_gelf_line``) inline these steps.
    """
    if rewrite is not None:
        fields = rewrite(facility, level, msg, fields)
    t = _txn_get()
    if t is not None:
        add_scope(t, fields)
    return _redacted(fields)


def _text_keys(bound: Mapping[Any, Any], fields: Any, kw: Mapping[Any, Any], args: tuple[Any, ...]) -> dict[str, Any]:
    """``merge(bound, fields, kw)`` with every key that is not exactly ``str`` made text, and
    extra positional arguments (a wrong call) as the field ``args``."""

    def text(part: Mapping[Any, Any]) -> dict[str, Any]:
        return {k if type(k) is str else safe_key(k): v for k, v in part.items()}

    merged = merge(text(bound), text(fields) if isinstance(fields, Mapping) else fields, text(kw))
    if args:
        merged.setdefault("args", list(args))
    return merged


def message(msg: object, level: int) -> str:
    """A message that is not exactly ``str`` as text; a missing one is a wrong call."""
    if msg is NO_MESSAGE:
        raise wrong_call(level, msg, ())
    return safe_str(msg)


def merge(bound: dict[str, Any], fields: Any, kw: dict[str, Any]) -> dict[str, Any]:
    """The record's own fields: bound, then the positional mapping, then keywords."""
    if fields is None:
        return {**bound, **kw} if bound else kw
    if type(fields) is dict or isinstance(fields, Mapping):
        return {**bound, **fields, **kw}
    return {**bound, "fields": fields, **kw}


def interpolate(msg: str, fields: Mapping[str, Any]) -> str:
    """Replace ``${name}`` (or ``${a.b}`` for nested mappings) by field values; unknown names stay.

    ``fields`` have been through the redaction stage: a secret field interpolated into the
    message shows the mask, since the message itself is never redacted.
    """

    def value(m: re.Match[str]) -> str:
        cur: Any = fields
        for part in m.group(1).split("."):
            if not isinstance(cur, Mapping) or part not in cur:
                return m.group(0)
            cur = cur[part]
        return safe_str(cur)

    return _PLACEHOLDER.sub(value, msg)


def make_plain(
    facility: str,
    level: int,
    rewrite: rewriters.Runner | None,
    trigger: str | None,
    emits: tuple[Emit, ...],
) -> Method:
    """The general method: no interpolation, no stack. Kept minimal: it is the hot path."""
    one = emits[0] if len(emits) == 1 else None

    def method(
        self: Any, msg: object = NO_MESSAGE, fields: Mapping[Any, Any] | None = None, /, *args: Any, **kw: Any
    ) -> None:
        try:
            if args:
                raise wrong_call(level, msg, args)
            bound = self._bound
            f = kw if fields is None and not bound else merge(bound, fields, kw)
            if type(msg) is not str:
                msg = message(msg, level)
            if rewrite is not None and (trigger is None or trigger in f):
                f = rewrite(facility, level, msg, f)
            t = _txn_get()
            if t is not None:
                if t.__class__ is str:
                    if "txnId" not in f:
                        f["txnId"] = t
                else:
                    add_scope(t, f)
            f = _redacted(f)
            if one is not None:
                one(Record(facility, level, msg, f, _now(), None))
            else:
                rec = Record(facility, level, msg, f, _now(), None)
                for emit in emits:
                    emit(rec)
        except Exception as exc:
            try:
                salvage(exc, facility, level, msg, (self._bound, fields, kw, args), rewrite, emits)
            except Exception:  # at the recursion limit even a call fails: count, call nothing
                _internal["dropped"] += 1

    return method


def direct_gelf(sink: object) -> FdSink | QueuedSink | None:
    """``sink`` when ``make_gelf_line`` may hand it lines it made itself: the sink says so
    (``Sink.takes_gelf_lines``), and is one of the two kinds the method hands lines to, a
    descriptor sink (stderr, a file) or a network sink's queue."""
    if isinstance(sink, (FdSink, QueuedSink)) and sink.takes_gelf_lines():
        return sink
    return None


def make_gelf_line(
    facility: str,
    level: int,
    rewrite: rewriters.Runner | None,
    trigger: str | None,
    sink: FdSink | QueuedSink,
) -> Method:
    """``make_plain`` for a route to one GELF line sink, building and writing the line itself.

    A file or stderr sink gets the line written to its descriptor here; a network sink gets it
    queued for its worker (``QueuedSink.enqueue``). Only for levels 0..7 and for chains of
    logmagic's own rewriters (``trigger`` known): user rewriters run on every record and get
    ``make_plain``. The context's txnId goes straight
    into the line; only a record the line cannot hold gets it in its fields. The closure holds
    as few cells as it can: CPython copies every cell into the frame at each call.
    """
    if level > 7 or (rewrite is not None and trigger is None):
        raise ValueError("make_gelf_line: trace levels and user rewriters take the general path")
    when: object = trigger if rewrite is not None else _NEVER
    out: Any = sink  # the method reads only what the kind of sink it was made for has
    enqueue: Any = None
    written: Any = None
    fd = -1
    if isinstance(sink, FdSink):
        written = sink.written_counter
        fd = sink.fd  # never changes while the sink lives (see FdSink)
    else:
        enqueue = sink.enqueue

    def method(
        self: Any, msg: object = NO_MESSAGE, fields: Mapping[Any, Any] | None = None, /, *args: Any, **kw: Any
    ) -> None:
        try:
            if args:
                raise wrong_call(level, msg, args)
            bound = self._bound
            f = kw if fields is None and not bound else merge(bound, fields, kw)
            if type(msg) is not str:
                msg = message(msg, level)
            if when in f:
                f = rewrite(facility, level, msg, f)  # type: ignore[misc]  # not None when ``when`` is a name
            t = _txn_get()
            ts = _now()
            # The line GelfEncoder would write; None: something the encoder must look at.
            line = _plain_gelf_line(
                IDENTITY.host, msg, ts, level, facility, f, NAMES, t, EMPTY_MESSAGE, _dumps, _NEWLINE
            )
            if line is not None:
                n = len(line)
                if enqueue is not None:
                    enqueue(line)
                elif out.look_from <= ts < out.free_until:
                    try:
                        done = _write_counted(fd, line, written)  # counted when whole
                    except OSError as exc:
                        out.lost(exc)
                        return
                    if done != n and out.finish(line, done):
                        _next(written)
                elif out.look_from <= ts < out.lock_until and not _EXIT.started:
                    # A pipe: whole lines under the lock, waiting for room. Not once the exit
                    # flush has started: write_line then bounds every wait. acquire/release
                    # rather than ``with``: half the cost of taking the lock, on every line.
                    lock = out.line_lock
                    lock.acquire()
                    try:
                        if ts < out.lock_until:  # no line was torn meanwhile
                            try:
                                done = _write_counted(fd, line, written)  # counted when whole
                            except OSError:
                                done = -1  # tried again by the sink, which counts a loss
                            if done != n:
                                out.locked_write(line, done)
                        else:
                            out.write_line(line, ts)
                    finally:
                        lock.release()
                else:
                    out.write_line(line, ts)  # under the sink's lock
                return
            # The general path's last steps, for what the line above could not hold.
            if t is not None:
                add_scope(t, f)
            out.emit(Record(facility, level, msg, _redacted(f), ts, None))
        except Exception as exc:
            try:
                salvage(exc, facility, level, msg, (self._bound, fields, kw, args), rewrite, (out.emit,))
            except Exception:  # at the recursion limit even a call fails: count, call nothing
                _internal["dropped"] += 1

    return method


def python_gelf_line_maker() -> Callable[..., Method]:
    """``make_gelf_line`` with the Python twins of its C steps (``_plain.plain_gelf_line_py``,
    ``_plain.write_counted_py``) written into its level method by ``logmagic._inline``: what a
    process without the C accelerator makes its direct methods with. It is generated from the
    two definitions, never written a second time, so the tests of both hold for it; a call of
    eleven arguments would cost about what the work inside it costs. ``make_gelf_line`` itself
    (calling the twins) when a source cannot be read."""
    try:
        return inline_calls(
            make_gelf_line,
            {"_plain_gelf_line": _plain.plain_gelf_line_py, "_write_counted": _plain.write_counted_py},
        )
    except InlineError:
        return make_gelf_line


#: What the loggers make a direct GELF method with (``logmagic.logger``).
make_direct: Callable[..., Method] = make_gelf_line if _plain.ACCELERATED else python_gelf_line_maker()


def make_recorded(
    facility: str,
    level: int,
    rewrite: rewriters.Runner | None,
    trigger: str | None,
    emits: tuple[Emit, ...],
    *,
    template: bool,
    extra: int,
    big: int,
) -> Method:
    """A level below its route's threshold while the flight recorder is on (``flight_recorder``).

    Outside a transaction it does nothing, as a disabled level. Inside one, the record is made
    as the general path makes it up to the redaction stage and kept in the transaction's
    recorder with the sinks it would go to, instead of being written; the txnId and context
    fields (its ``Scope``) are added when it is written (``flight_recorder``). Fields that are
    plain values under names known to be harmless (``_plain.keep_plain``, the direct GELF
    path's test) are kept as they are: the rewriters (unless ``trigger`` is among them) and the
    redaction stage would leave them so. Anything else takes ``rewrite`` and ``redact.stage``.
    ``big``: a record estimated larger has the recorder's caps applied at once
    (``flight_recorder.big_record``).
    """
    when: object = trigger if rewrite is not None and trigger is not None else _NEVER
    careful = template or extra != 0 or (rewrite is not None and trigger is None)
    spec = (facility, level, emits)  # flight_recorder.Spec

    def method(
        self: Any, msg: object = NO_MESSAGE, fields: Mapping[Any, Any] | None = None, /, *args: Any, **kw: Any
    ) -> None:
        t = _txn_get()
        if t.__class__ is not _Scope:
            return
        recorder = t.recorder
        if recorder is None:
            return
        try:
            if args:
                raise wrong_call(level, msg, args)
            bound = self._bound
            f = kw if fields is None and not bound else merge(bound, fields, kw)
            if type(msg) is not str:
                msg = message(msg, level)
            if not careful and when not in f:  # Recorder.keep, inlined, for plain fields
                entries = recorder.entries
                size = _keep_plain(entries, f, NAMES, spec, msg, t, _ENTRY_SIZE, _now)
                if size >= 0:
                    if size > big or len(entries) > recorder.check_at:
                        recorder.account()
                    return
            full = None
            if extra == STACK:
                full = "".join(traceback.format_stack(sys._getframe(1)))
            elif extra == EXC and sys.exc_info()[1] is not None:
                full = traceback.format_exc()
            if rewrite is not None:
                f = rewrite(facility, level, msg, f)
            f = _redacted(f)
            _learn_names(f)  # the next record with these names may skip this
            if template:
                msg = interpolate(msg, {**t.fields, **f})
            keep(recorder, t, Record(facility, level, msg, f, _now(), full), spec)
        except Exception as exc:
            try:
                _internal_error(exc)
            except Exception:  # at the recursion limit even a call fails: count, call nothing
                _internal["dropped"] += 1

    return method


def keep(recorder: Any, scope: txn.Scope, rec: Record, spec: tuple[str, int, tuple[Emit, ...]]) -> None:
    """Keep ``rec`` (rewritten and redacted; its txnId and context fields come from ``scope``
    when it is written) in a flight recorder, for the sinks of ``spec`` (``flight_recorder.Spec``)."""
    recorder.keep((spec, rec.msg, rec.fields, rec.timestamp, rec.full_message, scope, _estimate(rec.msg, rec.fields)))


def with_replay(method: Method) -> Method:
    """``method`` (a level at ERR or worse) preceded by the replay of the current transaction's
    flight recorder: the kept records are written before the error record."""

    def replaying(self: Any, *args: Any, **kw: Any) -> None:
        t = _txn_get()
        if t.__class__ is _Scope:
            recorder = t.recorder
            if recorder is not None and recorder.entries:
                try:
                    recorder.replay()
                except Exception as exc:
                    _internal_error(exc)
        method(self, *args, **kw)

    return replaying


def make_rich(
    facility: str,
    level: int,
    rewrite: rewriters.Runner | None,
    emits: tuple[Emit, ...],
    *,
    template: bool,
    extra: int,
) -> Method:
    """Methods that interpolate ``${name}`` (the ``f`` variants), add a stack or a traceback."""

    def method(
        self: Any, msg: object = NO_MESSAGE, fields: Mapping[Any, Any] | None = None, /, *args: Any, **kw: Any
    ) -> None:
        ts: float | None = None
        full = None
        try:
            ts = _now()
            if args:
                raise wrong_call(level, msg, args)
            if extra == STACK:
                full = "".join(traceback.format_stack(sys._getframe(1)))
            elif extra == EXC and sys.exc_info()[1] is not None:
                full = traceback.format_exc()
            if type(msg) is not str:
                msg = message(msg, level)
            f = finish_fields(facility, level, msg, merge(self._bound, fields, kw), rewrite)
            if template:
                msg = interpolate(msg, f)
            rec = Record(facility, level, msg, f, ts, full)
            for emit in emits:
                emit(rec)
        except Exception as exc:
            try:
                salvage(exc, facility, level, msg, (self._bound, fields, kw, args), rewrite, emits, ts, full)
            except Exception:  # at the recursion limit even a call fails: count, call nothing
                _internal["dropped"] += 1

    return method
