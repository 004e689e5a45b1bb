"""The rewriter chain: functions that turn rich values into plain fields before any sink.

A rewriter is ``fn(facility, level, msg, fields) -> fields``. Rewriters run in registration
order on the record's own copy of the fields, so they may mutate it. One that raises is skipped
for that record and reported once; the record still goes out. A rewriter that logs through
logmagic does not recurse forever: records logged from inside a rewriter skip the chain when
they are already nested ``MAX_NESTING`` deep.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from logmagic._forklocks import renew_after_fork
from logmagic._report import warn
from logmagic._safe import describe_exception, safe_str
from logmagic.sinks.base import MAX_NESTING, _nesting

__all__ = ["Rewriter", "Runner", "Saved", "add", "chain", "compile_chain", "remove", "restore", "run", "trigger_of"]

Rewriter = Callable[[str, int, str, dict[str, Any]], Any]
#: A compiled chain: ``fn(facility, level, msg, fields) -> fields``, never raising.
Runner = Callable[[str, int, str, dict[str, Any]], dict[str, Any]]

_head: list[Rewriter] = []  # built-ins that run after the user's (the request rewriter)
_tail: list[Rewriter] = []  # built-ins that run last
_user: list[Rewriter] = []  # add_rewriter's, in order
_trusted: list[Rewriter] = []  # logmagic's own: they never raise and never log
_trigger: list[str] = []  # the field without which logmagic's own leave the fields alone
_reported: set[int] = set()
_reported_lock = threading.RLock()

renew_after_fork(globals(), "_reported_lock")


def trigger_of(rewriters: tuple[Rewriter, ...]) -> str | None:
    """The field without which the chain ``rewriters`` changes nothing, when that is known.

    Known only for a chain of logmagic's own rewriters; user rewriters may act on any record.
    """
    if _trigger and all(any(fn is t for t in _trusted) for fn in rewriters):
        return _trigger[0]
    return None


def add(fn: Rewriter) -> None:
    """Append ``fn`` to the user's rewriters (adding the same function twice is a no-op)."""
    if not callable(fn):
        raise ValueError(f"a rewriter must be callable fn(facility, level, msg, fields), got {fn!r}")
    if fn not in _user:
        _user.append(fn)


def remove(fn: Rewriter) -> None:
    """Take ``fn`` out of the chain, built-ins included (no error when it is not there)."""
    for chain_part in (_head, _user, _tail):
        if fn in chain_part:
            chain_part.remove(fn)


class Saved:
    """The whole rewriter state, for ``restore``: the chain as it is now (``Saved()``) or as
    given (``Saved.of``), and which rewriters' failures were reported already."""

    def __init__(self) -> None:
        self.head, self.tail, self.user = list(_head), list(_tail), list(_user)
        self.trusted, self.trigger = list(_trusted), list(_trigger)
        self.reported = set(_reported)

    @classmethod
    def of(
        cls, head: Sequence[Rewriter], tail: Sequence[Rewriter], user: Sequence[Rewriter], trigger: str | None
    ) -> Saved:
        """A chain of ``user`` rewriters and logmagic's own: ``head`` runs after the user's,
        ``tail`` last (for what no rewriter handled, such as a request object of a kind logmagic
        does not know), and ``trigger`` names the field without which all of logmagic's own
        leave the fields alone. No failure is reported yet."""
        saved = cls.__new__(cls)
        saved.head, saved.tail, saved.user = list(head), list(tail), list(dict.fromkeys(user))
        saved.trusted, saved.trigger = [*head, *tail], [trigger] if trigger else []
        saved.reported = set()
        return saved

    def with_user(self, user: Sequence[Rewriter]) -> Saved:
        """The same built-ins with ``user`` as the user's rewriters."""
        return Saved.of(self.head, self.tail, user, self.trigger[0] if self.trigger else None)


def restore(saved: Saved) -> None:
    """Put back the rewriters as they were when ``saved`` was made."""
    _head[:], _tail[:], _user[:] = saved.head, saved.tail, saved.user
    _trusted[:], _trigger[:] = saved.trusted, saved.trigger
    with _reported_lock:
        _reported.clear()
        _reported.update(saved.reported)


def chain() -> tuple[Rewriter, ...]:
    """The whole chain as it is now, in the order it runs: the user's rewriters first (they
    see the fields as logged, ``request`` object included), then logmagic's own on whatever
    is left, then the step that hides an object nobody handled."""
    return (*_user, *_head, *_tail)


def compile_chain(rewriters: tuple[Rewriter, ...]) -> Runner | None:
    """The function loggers call for ``rewriters``; ``None`` when there are none.

    When only logmagic's own rewriters are in the chain they are called directly, without the
    guards that user rewriters need.
    """
    if not rewriters:
        return None
    if all(any(fn is t for t in _trusted) for fn in rewriters):
        if len(rewriters) == 1:
            return rewriters[0]
        first, *rest = rewriters

        def run_trusted(facility: str, level: int, msg: str, fields: dict[str, Any]) -> dict[str, Any]:
            fields = first(facility, level, msg, fields)
            for fn in rest:
                fields = fn(facility, level, msg, fields)
            return fields

        return run_trusted
    return functools.partial(run, rewriters)


def _report_once(fn: Rewriter, problem: str) -> None:
    with _reported_lock:
        if id(fn) in _reported:
            return
        _reported.add(id(fn))
    name = getattr(fn, "__qualname__", None) or safe_str(fn, 200)
    warn(f"rewriter {name} {problem}; skipped for the records it fails on (reported once)")


def run(chain: tuple[Rewriter, ...], facility: str, level: int, msg: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Run ``chain`` over ``fields`` and return the rewritten fields. Never raises."""
    depth = getattr(_nesting, "depth", 0)
    if depth >= MAX_NESTING:
        return fields
    _nesting.depth = depth + 1
    try:
        for fn in chain:
            try:
                out = fn(facility, level, msg, fields)
            except Exception as exc:
                _report_once(fn, f"raised {describe_exception(exc)}")
                continue
            if type(out) is dict:
                fields = out
            elif out is None:
                continue  # rewrote in place and returned nothing: keep the mutated dict
            elif isinstance(out, Mapping):
                fields = dict(out)
            else:
                _report_once(fn, f"returned {type(out).__name__}, not a mapping")
    finally:
        _nesting.depth = depth
    return fields
