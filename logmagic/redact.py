"""Redaction: secrets never leave the process.

On by default. Wherever a record leaves logmagic — every encoder (GELF, JSON, console) and
every user sink — the value of each field whose name looks secret is replaced by
``"[REDACTED]"``, at any depth of nested mappings, dataclasses and lists (the encoders write
nothing below ``MAX_DEPTH`` levels; there the redactor too puts ``"<max depth>"``). Because it is applied at the sink
boundary rather than at one point of the rewriter chain, nothing a rewriter adds escapes it,
and the common case (flat fields with known, harmless names) costs nothing on the hot path.

Secret names, case-insensitive, also in their WSGI form (``HTTP_AUTHORIZATION``):
``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``, ``X-Api-Key``, and any
name containing ``password``, ``passwd``, ``secret``, ``token``, ``api_key`` or ``apikey``.
The caller's nested objects are copied before a value in them is replaced, never changed.

``logmagic.configure(redact=[...])`` replaces the names (``*part*`` for substrings);
``configure(redact=False)`` turns redaction off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from logmagic.encode._safe import MAX_DEPTH, dataclass_fields

MASK = "[REDACTED]"

DEFAULT_NAMES = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key")
DEFAULT_PATTERNS = ("password", "passwd", "secret", "token", "api-key", "apikey")
_CACHE_LIMIT = 10_000
#: Containers looked into, besides mappings and dataclasses.
_SEQUENCES = (list, tuple, set, frozenset)
#: Values that cannot hold a nested secret.
SCALARS = frozenset((str, int, float, bool, type(None), bytes))


def _normal(key: object) -> str:
    """``HTTP_X_API_KEY`` and ``X-Api-Key`` both become ``x-api-key``."""
    text = key.decode("latin-1") if isinstance(key, (bytes, bytearray)) else str(key)
    text = text.lower().replace("_", "-")
    return text[5:] if text.startswith("http-") else text


class Redactor:
    """Decides which field names are secret (cached per name) and masks values under them."""

    def __init__(self, names: Iterable[str] = DEFAULT_NAMES, patterns: Iterable[str] = DEFAULT_PATTERNS) -> None:
        self.names = frozenset(_normal(n) for n in names)
        self.patterns = tuple(_normal(p) for p in patterns)
        self._regex = re.compile("|".join(re.escape(p) for p in self.patterns)) if self.patterns else None
        #: name -> is it secret; read directly by the encoders' loops.
        self.verdicts: dict[Any, bool] = {}

    @classmethod
    def from_list(cls, items: Iterable[str]) -> Redactor:
        """Entries are exact names, or substrings when written ``*part*``."""
        names, patterns = [], []
        for item in items:
            if not isinstance(item, str) or not item.strip("*"):
                raise ValueError(f"redact entries must be names or *patterns*, got {item!r}")
            if item.startswith("*") and item.endswith("*"):
                patterns.append(item.strip("*"))
            else:
                names.append(item)
        return cls(names, patterns)

    def is_secret(self, key: object) -> bool:
        """Whether a field called ``key`` holds a secret.

        Only ``str`` keys are cached: looking up any other key could call its ``__eq__``, which
        may raise, and one cached hostile key would make lookups of equal-hashed names raise.
        """
        plain = type(key) is str
        verdict = self.verdicts.get(key) if plain else None
        if verdict is None:
            try:
                text = _normal(key)
            except Exception:
                return False
            verdict = text in self.names or (self._regex is not None and self._regex.search(text) is not None)
            if plain and len(self.verdicts) < _CACHE_LIMIT:
                self.verdicts[key] = verdict
        return verdict

    def fields(self, fields: dict[Any, Any]) -> dict[Any, Any]:
        """``fields`` with secrets masked: the same dict when there is nothing to mask, else a copy."""
        verdicts = self.verdicts
        for k, v in fields.items():
            if type(k) is not str or verdicts.get(k) is not False or type(v) not in SCALARS:
                return self._mapping(fields, 0, set())  # type: ignore[no-any-return]
        return fields

    def value(self, value: Any) -> Any:
        """``value`` with secrets inside it masked (the same object when there are none)."""
        return self._value(value, 0, set())

    def _mapping(self, obj: Mapping[Any, Any], depth: int, active: set[int]) -> Any:
        out: dict[Any, Any] | None = None
        for k, v in obj.items():
            new = MASK if self.is_secret(k) else self._value(v, depth + 1, active)
            if new is not v:
                if out is None:
                    out = dict(obj)
                out[k] = new
        return obj if out is None else out

    def _value(self, value: Any, depth: int, active: set[int]) -> Any:
        if type(value) in SCALARS:
            return value
        try:
            is_map = isinstance(value, Mapping)
            is_seq = not is_map and isinstance(value, _SEQUENCES)
            fields = None if is_map or is_seq else dataclass_fields(value)
        except Exception:  # a hostile ``__class__``, a dataclass field that cannot be read
            return "<unreadable value>"
        if fields is None and not is_map and not is_seq:
            return value
        if id(value) in active:
            # A cycle, marked as the encoders mark it. Not the object itself: below the
            # redacted copy the encoders would write the original, secrets and all.
            return "<cycle>"
        if depth >= MAX_DEPTH:
            return "<max depth>"  # what the encoders write there too: nothing deeper is shown
        active.add(id(value))
        try:
            if fields is not None:
                # Always the dict of its fields, never the object: orjson would write the
                # object's ``__dict__``, with attributes that are not fields (a cached token).
                return self._mapping(fields, depth, active)
            if is_map:
                return self._mapping(value, depth, active)
            return self._sequence(value, depth, active)
        except Exception:
            return "<unreadable value>"
        finally:
            active.discard(id(value))

    def _sequence(self, seq: Any, depth: int, active: set[int]) -> Any:
        """A list, tuple, set or frozenset with secrets in it masked (a set becomes a list, as
        the encoders write it); the same object when there are none."""
        changed = False
        items = []
        for item in seq:
            # Header lists: [("authorization", "Bearer x"), ...] from ASGI scopes and frameworks.
            if type(item) is tuple and len(item) == 2 and isinstance(item[0], (str, bytes)) and self.is_secret(item[0]):
                new: Any = (item[0], MASK)
            else:
                new = self._value(item, depth + 1, active)
            changed = changed or new is not item
            items.append(new)
        if not changed:
            return seq
        return tuple(items) if isinstance(seq, tuple) else items


#: The redactor every sink applies, or ``None`` when redaction is off.
ACTIVE: Redactor | None = Redactor()


def set_active(redactor: Redactor | None) -> None:
    """Install the redaction policy (``None``: off)."""
    global ACTIVE
    ACTIVE = redactor
