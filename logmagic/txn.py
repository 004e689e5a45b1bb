"""Transaction ids and request-scoped fields: made at the edge, carried in a context variable.

An id looks like ``.rh-3dT5.h-product-api0.r-pVDF7IRM.c-0.ts-1324936588828.v-062c3d0``:
a per-process tag, the origin host, 8 random characters, a per-process counter, the time in
unix milliseconds and the service version (``logmagic.txn_format`` decodes one). Everywhere
else it is opaque: an id from another system (a UUID, say) is carried just the same.

``context(**fields)`` adds fields to every record written inside it (an ``accountId`` known
once the request is authenticated). The id and those fields share one context variable: it
holds the id alone (a ``str``), or a ``Scope`` when fields are in force, so a record outside any
``context`` block pays for no second lookup.

Context variables follow asyncio tasks by themselves. Threads need ``wrap(fn)`` (or
``submit(executor, fn)``), which runs ``fn`` in a copy of the caller's context.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from contextvars import ContextVar, Token, copy_context
from types import TracebackType
from typing import Any, NamedTuple, TypeVar, cast

from logmagic._identity import IDENTITY

__all__ = [
    "Scope",
    "add_scope",
    "context",
    "context_fields",
    "current_txn_id",
    "end_current",
    "get_current",
    "new_txn_id",
    "reset_current",
    "set_current",
    "set_recorder_factory",
    "set_scope",
    "submit",
    "transaction",
    "wrap",
]


class Scope(NamedTuple):
    """What the context variable holds inside a ``context`` block, or in a transaction while
    the flight recorder is on: the id, the fields, and the transaction's recorder
    (``logmagic.flight_recorder.Recorder``, made by the factory that module installs)."""

    txn_id: str | None
    fields: dict[str, Any]
    recorder: Any = None


#: Makes a transaction's flight recorder; None while the recorder is off.
_new_recorder: Callable[[], Any] | None = None


def add_scope(t: str | Scope, fields: dict[Any, Any]) -> None:
    """Add the txnId ``t`` holds, then its ``context`` fields, each where ``fields`` has no
    such name: the record's own fields (and ``bind()``'s) win. A step of the pipeline
    (``logmagic.call_paths.finish_fields``), here beside the ``Scope`` it reads."""
    if isinstance(t, str):
        if "txnId" not in fields:
            fields["txnId"] = t
        return
    txn_id, extra = t.txn_id, t.fields
    if txn_id is not None and "txnId" not in fields:
        fields["txnId"] = txn_id
    for k, v in extra.items():
        if k not in fields:
            fields[k] = v


def set_recorder_factory(make: Callable[[], Any] | None) -> None:
    """Have every transaction begun from now on get ``make()`` as its recorder (None: none)."""
    global _new_recorder
    _new_recorder = make


_current: ContextVar[str | Scope | None] = ContextVar("logmagic_txn_id", default=None)

#: The hot path reads the id (or the ``Scope``) through this bound method.
get_current = _current.get

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_HOST_CHARS = re.compile(r"[^A-Za-z0-9.-]")
F = TypeVar("F", bound=Callable[..., Any])


def _random_chars(n: int) -> str:
    """``n`` characters of [0-9A-Za-z] from the OS CSPRNG (modulo bias below 1e-5)."""
    value = int.from_bytes(os.urandom(8), "big")
    out = []
    for _ in range(n):
        value, digit = divmod(value, 62)
        out.append(_ALPHABET[digit])
    return "".join(out)


class _Process:
    """Per-process parts of an id: the ``rh`` tag and the counter, both new after ``fork()``."""

    def __init__(self) -> None:
        self.tag = _random_chars(4)
        self.counter = itertools.count()


_process = _Process()


def _after_fork_in_child() -> None:
    global _process
    _process = _Process()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@functools.lru_cache(maxsize=64)
def _id_part(text: str) -> str:
    """Host and version as they may appear in an id: [A-Za-z0-9.-] only."""
    return _HOST_CHARS.sub("-", text)


def new_txn_id(version: str | None = None) -> str:
    """A fresh transaction id for this host, process and moment."""
    host = _id_part(IDENTITY.host) or "localhost"
    ver = _id_part(version if version is not None else IDENTITY.version)
    return (
        f".rh-{_process.tag}.h-{host}.r-{_random_chars(8)}.c-{next(_process.counter)}"
        f".ts-{int(time.time() * 1000)}.v-{ver}"
    )


def current_txn_id() -> str | None:
    """The transaction id of the running request or job, or ``None``."""
    now = _current.get()
    return now.txn_id if isinstance(now, Scope) else now


def context_fields() -> dict[str, Any]:
    """The fields ``context`` blocks have put in force here (a copy; empty outside any)."""
    now = _current.get()
    return dict(now.fields) if isinstance(now, Scope) else {}


def _begin(txn_id: str | None, fields: dict[str, Any] | None) -> str | Scope | None:
    """What the variable holds when ``txn_id`` begins with ``fields`` in force: the id alone
    when it can, a ``Scope`` for fields or a new flight recorder."""
    make = _new_recorder
    if make is not None and txn_id is not None:
        return Scope(txn_id, {} if fields is None else fields, make())
    return txn_id if fields is None else Scope(txn_id, fields)


def set_current(txn_id: str | None) -> Token[str | Scope | None]:
    """Make ``txn_id`` current, keeping the context fields in force; reset with the token
    (``reset_current``), which ends the transaction for the flight recorder."""
    now = _current.get()
    return _current.set(_begin(txn_id, now.fields if isinstance(now, Scope) else None))


def set_scope(txn_id: str | None, fields: dict[str, Any]) -> Token[str | Scope | None]:
    """Make ``txn_id`` current and add ``fields`` to the context fields in force (``fields`` win
    over outer ones), in one step; reset with the token. With no ``fields``, ``set_current``."""
    if not fields:
        return set_current(txn_id)
    now = _current.get()
    outer = now.fields if isinstance(now, Scope) else None
    return _current.set(_begin(txn_id, {**outer, **fields} if outer else dict(fields)))


def reset_current(token: Token[str | Scope | None], error: BaseException | None = None) -> None:
    """Undo the ``set_current`` (or ``set_scope``) that gave ``token``: the transaction ended,
    with ``error`` if it raised (its flight recorder then writes what it kept)."""
    now = _current.get()
    _current.reset(token)
    _ended(now, error)


def end_current(error: BaseException | None = None) -> None:
    """The current transaction ended (where nothing resets the variable, as in WSGI): its
    flight recorder writes what it kept if ``error``, else throws it away."""
    now = _current.get()
    if isinstance(now, Scope) and now.recorder is not None:
        now.recorder.end(error)


def _ended(before: str | Scope | None, error: BaseException | None) -> None:
    """End the recorder of ``before`` unless the value in force now still uses it."""
    recorder = before.recorder if isinstance(before, Scope) else None
    if recorder is not None:
        now = _current.get()
        if not (isinstance(now, Scope) and now.recorder is recorder):
            recorder.end(error)


class context:
    """Add fields to every record written inside the block, by any logger: ``with`` or ``async with``.

    ``with logmagic.context(accountId=user.account_id):`` after authentication puts
    ``accountId`` on every record of the request, library code included. Blocks nest (inner
    values win) and each exit restores what was in force before. The fields follow threads and
    tasks as the txnId does (``wrap``, ``submit``, asyncio tasks). A record's own fields and its
    logger's ``bind()`` fields win over them; they are added after the rewriters, next to the
    txnId, and go through redaction like any field. The values are kept as given: a mutable
    one shows its state when each record is written.
    """

    def __init__(self, **fields: Any) -> None:
        self.fields = fields
        self._tokens: list[Token[str | Scope | None]] = []

    def __enter__(self) -> dict[str, Any]:
        now = _current.get()
        if isinstance(now, Scope):
            scope = Scope(now.txn_id, {**now.fields, **self.fields}, now.recorder)
        else:
            scope = Scope(now, dict(self.fields))
        self._tokens.append(_current.set(scope))
        return dict(scope.fields)

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        _current.reset(self._tokens.pop())

    async def __aenter__(self) -> dict[str, Any]:
        return self.__enter__()

    async def __aexit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.__exit__(t, e, tb)


class transaction:
    """Make a transaction id current: ``with``, ``async with``, or as a decorator.

    ``with logmagic.transaction() as txn_id:`` makes a new id (or the one given) current and
    restores the outer one on exit. As a decorator, each call runs in its own transaction
    (a background job gets a new id per run), for plain and ``async`` functions alike.
    """

    def __init__(self, txn_id: str | None = None) -> None:
        self.txn_id = txn_id
        self._tokens: list[Token[str | Scope | None]] = []

    def __enter__(self) -> str:
        txn_id = self.txn_id or new_txn_id()
        self._tokens.append(set_current(txn_id))
        return txn_id

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        reset_current(self._tokens.pop(), e if isinstance(e, Exception) else None)

    async def __aenter__(self) -> str:
        return self.__enter__()

    async def __aexit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.__exit__(t, e, tb)

    def __call__(self, fn: F) -> F:
        txn_id = self.txn_id
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with transaction(txn_id):
                    return await fn(*args, **kwargs)

            return cast(F, run_async)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with transaction(txn_id):
                return fn(*args, **kwargs)

        return cast(F, run)


_WRAPPED = "__logmagic_context_wrapped__"


def wrap(fn: F) -> F:
    """``fn`` made to run in a copy of the caller's context (for threads and executors).

    Wrapping is marked: ``wrap(wrap(f))`` returns the first wrapper itself, never a second
    layer, however often a framework hook wraps the same callable.
    """
    if getattr(fn, _WRAPPED, False):
        return fn
    ctx = copy_context()

    @functools.wraps(fn)
    def in_context(*args: Any, **kwargs: Any) -> Any:
        # A fresh copy per call: the same wrapper may run in several threads at once.
        return ctx.copy().run(fn, *args, **kwargs)

    setattr(in_context, _WRAPPED, True)
    return cast(F, in_context)


def submit(executor: Executor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
    """``executor.submit(fn, ...)`` with the caller's context (and so its txnId) carried over."""
    return executor.submit(wrap(fn), *args, **kwargs)
