"""Redaction: secrets never leave the process.

On by default. Redaction is one stage of the pipeline (``stage``), after the rewriters and
the txnId and before any sink sees the record, whatever the sink (stderr, a file, the
console, ``stdlib``, a network sink, a ``Sink`` object or a plain function): the value of
each field whose name looks secret is replaced by ``"[REDACTED]"``, at any depth of nested
mappings, dataclasses, pydantic and attrs models, named tuples and lists (the encoders write
nothing below ``MAX_DEPTH`` levels; there the redactor too puts ``"<max depth>"``). Nothing a
rewriter adds escapes it, the encoders mask nothing themselves, and the common case (flat
fields with known, harmless names and short plain values) is looked at once and not copied.

Secret names, case-insensitive, ``-`` and ``_`` alike, surrounding blanks ignored, also in
their WSGI form (``HTTP_AUTHORIZATION``): ``Authorization``, ``Proxy-Authorization``,
``Cookie``, ``Set-Cookie``, ``X-Api-Key``, ``pwd``, ``session``, ``session_id``, and any name
containing ``password``, ``passwd``, ``passphrase``, ``secret``, ``token``, ``api_key``,
``apikey``, ``private_key``, ``credential`` or ``jwt``. Besides names:

* header lists, as ``(name, value)`` tuples or ``[name, value]`` lists (ASGI, JSON), mask
  the value of a secret header;
* text values that hold ``://user:password@`` or a query parameter with a secret name
  (``?token=…``, ``&password=…``, a WSGI ``QUERY_STRING``) have that part masked;
* an object that is not a known kind but whose attributes include a secret name is replaced
  by the masked mapping of its attributes, as its ``str()`` might show them.

Each record's walk visits at most ``MAX_ITEMS`` keys and items; past that, a container is cut
with a marker saying how much was left out (``{"…": "[990000 more keys]"}``), never passed on
unread. The caller's objects are copied before a value in them is replaced, never changed.
docs/redaction.md has the whole table, and what is not redacted.

``logmagic.configure(redact=[...])`` replaces the names (``*part*`` for substrings);
``configure(redact=False)`` turns redaction off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from logmagic._safe import (
    MAX_DEPTH,
    MORE,
    Budget,
    Omitted,
    keep_txn_id,
    last_item,
    left_out,
    object_fields,
    omitted,
)

__all__ = [
    "ACTIVE",
    "DEFAULT_NAMES",
    "DEFAULT_PATTERNS",
    "MASK",
    "SCALARS",
    "Redactor",
    "needs_scrub",
    "set_active",
    "stage",
]

MASK = "[REDACTED]"

DEFAULT_NAMES = (
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "pwd",
    "session",
    "session-id",
    "sessionid",
)
DEFAULT_PATTERNS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "api-key",
    "apikey",
    "private-key",
    "privatekey",
    "credential",
    "jwt",
)
_CACHE_LIMIT = 10_000
#: Containers looked into, besides mappings and dataclasses.
_SEQUENCES = (list, tuple, set, frozenset)
#: Values that cannot hold a nested secret (text is checked on its own: it may hold a URL).
SCALARS = frozenset((str, int, float, bool, type(None), bytes))
#: ``://user:password@``: the password (group 2) is masked.
_USERINFO = re.compile(r"(://[^/?#@\s:]*:)([^/?#@\s]*)@")
#: A query parameter at the start of the text or after ``?``, ``&`` or ``;``: its value
#: (group 3) is masked when its name (group 2) is secret.
_PARAM = re.compile(r"(^|[?&;])([^=&;#?\s]+)=([^&;#\s]*)")
#: In free text, ``name=value``, ``name: value``, ``"name": "value"``: the value (quoted, or up
#: to a separator) is only looked at, so that a name inside it (``body: password=x``) is found.
_ASSIGNED = re.compile(
    r"""(?P<name>[\w.-]+)(?P<sep>["']?\s*[:=]\s*)(?=(?P<value>"[^"]*"|'[^']*'|[^\s,;&'"()\[\]{}]+))"""
)
#: ``Bearer <token>`` and ``Basic <credentials>`` in free text.
_CREDENTIAL = re.compile(r"(?i)\b(?P<scheme>bearer|basic)\s+[\w.~+/=-]{4,}")


def needs_scrub(text: str) -> bool:
    """Whether a text value may hold a URL password or a query parameter: ``=`` or ``@`` in it.

    The cheap test that keeps the regular expressions off plain short strings; the loggers'
    direct GELF path (``logmagic.encode._plain``, in Python and in C) makes the same one.
    """
    return "=" in text or "@" in text


def _normal(key: object) -> str:
    """``HTTP_X_API_KEY``, ``X-Api-Key`` and ``" x_api_key "`` all become ``x-api-key``."""
    text = key.decode("latin-1") if isinstance(key, (bytes, bytearray)) else str(key)
    text = text.strip().lower().replace("_", "-")
    return text[5:] if text.startswith("http-") else text


def _is_pair(item: Any) -> bool:
    """A header as ASGI and frameworks give it: ``(name, value)``, or ``[name, value]`` from JSON."""
    return type(item) in (tuple, list) and len(item) == 2 and isinstance(item[0], (str, bytes))


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

    def text(self, text: str) -> str:
        """``text`` with a URL's password and the values of secret query parameters masked."""
        if not needs_scrub(text):
            return text
        if "@" in text:
            text = _USERINFO.sub(lambda m: f"{m[1]}{MASK}@", text)
        if "=" in text:
            text = _PARAM.sub(lambda m: f"{m[1]}{m[2]}={MASK}" if self.is_secret(m[2]) else m[0], text)
        return text

    def prose(self, text: str) -> str:
        """Free text (logmagic's own diagnostics, which may quote an exception or a request)
        with what looks secret masked: a URL's password, the value after a secret name and
        ``=`` or ``:``, and ``Bearer``/``Basic`` credentials.

        Slower than ``text``: for rare lines, not for every field value.
        """
        text = _USERINFO.sub(lambda m: f"{m[1]}{MASK}@", _CREDENTIAL.sub(lambda m: f"{m['scheme']} {MASK}", text))
        out: list[str] = []
        done = 0
        for m in _ASSIGNED.finditer(text):
            if m.start() < done or not self.is_secret(m["name"]):
                continue
            value = m["value"]
            quote = value[0] if value[0] in "'\"" else ""
            out += (text[done : m.end()], quote, MASK, quote)
            done = m.end() + len(value)
        out.append(text[done:])
        return "".join(out)

    def fields(self, fields: dict[Any, Any], budget: Budget | None = None) -> dict[Any, Any]:
        """``fields`` with secrets masked: the same dict when there is nothing to mask, else a copy."""
        verdicts = self.verdicts
        for k, v in fields.items():
            if (
                type(k) is not str
                or verdicts.get(k) is not False
                or type(v) not in SCALARS
                or (type(v) is str and ("=" in v or "@" in v))
            ):
                return self._cut_fields(fields, Budget() if budget is None else budget)
        return fields

    def _cut_fields(self, fields: dict[Any, Any], budget: Budget) -> dict[Any, Any]:
        """``fields`` masked; when the walk was cut short, the record's ``txnId`` is kept anyway."""
        out: dict[Any, Any] = self._mapping(fields, 0, set(), budget)
        if out is not fields:
            keep_txn_id(out, fields, lambda txn: MASK if self.is_secret("txnId") else self.value(txn))
        return out

    def value(self, value: Any, budget: Budget | None = None) -> Any:
        """``value`` with secrets inside it masked (the same object when there are none).

        ``budget`` is the record's, when one record makes several calls.
        """
        return self._value(value, 0, set(), Budget() if budget is None else budget)

    def _mapping(self, obj: Mapping[Any, Any], depth: int, active: set[int], budget: Budget) -> Any:
        out: dict[Any, Any] | None = None
        for i, (k, v) in enumerate(obj.items()):
            if type(v) is Omitted:  # an earlier cut's marker: passed on, not counted
                new: Any = v
            elif budget.left <= 0:
                if out is None:
                    out = dict(islice(obj.items(), i))
                out.pop(MORE, None)  # the marker goes last
                out[MORE] = omitted(left_out(obj, i, obj.get(MORE)), "keys")
                return out
            else:
                budget.left -= 1
                new = MASK if self.is_secret(k) else self._value(v, depth + 1, active, budget)
            if out is None:
                if new is v:
                    continue
                out = dict(islice(obj.items(), i))
            out[k] = new
        return obj if out is None else out

    def _value(self, value: Any, depth: int, active: set[int], budget: Budget) -> Any:
        kind = type(value)
        if kind is str:
            return self.text(value) if "=" in value or "@" in value else value
        if kind in SCALARS:
            return value
        try:
            is_map = isinstance(value, Mapping)
            is_seq = not is_map and isinstance(value, _SEQUENCES)
            fields = None if is_map or is_seq else self._object_fields(value)
        except Exception:  # a hostile ``__class__``, a field that cannot be read
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
                return self._mapping(fields, depth, active, budget)
            if is_map:
                return self._mapping(value, depth, active, budget)
            return self._sequence(value, depth, active, budget)
        except Exception:
            return "<unreadable value>"
        finally:
            active.discard(id(value))

    def _object_fields(self, value: Any) -> dict[str, Any] | None:
        """A model's fields (see ``object_fields``); for any other object, its attributes when
        one of their names is secret (its ``str()`` may show them), else None."""
        fields = object_fields(value)
        if fields is not None:
            return fields
        attrs = getattr(value, "__dict__", None)
        if type(attrs) is dict and any(self.is_secret(k) for k in islice(attrs, 256)):
            return dict(attrs)
        return None

    def _sequence(self, seq: Any, depth: int, active: set[int], budget: Budget) -> Any:
        """A list, tuple, set or frozenset with secrets in it masked (a set becomes a list, as
        the encoders write it); the same object when there are none."""
        names = getattr(type(seq), "_fields", None) if isinstance(seq, tuple) else None  # a named tuple
        changed = False
        items = []
        for i, item in enumerate(seq):
            if type(item) is Omitted:  # an earlier cut's marker: passed on, not counted
                items.append(item)
                continue
            if budget.left <= 0:
                items.append(omitted(left_out(seq, i, last_item(seq)), "items"))
                changed = True
                break
            budget.left -= 1
            if names is not None and i < len(names) and self.is_secret(names[i]):
                new: Any = MASK
            elif _is_pair(item) and self.is_secret(item[0]):  # a header list: [("authorization", "Bearer x")]
                new = type(item)((item[0], MASK))
            else:
                new = self._value(item, depth + 1, active, budget)
            changed = changed or new is not item
            items.append(new)
        if not changed:
            return seq
        return tuple(items) if isinstance(seq, tuple) else items


#: The redactor every sink applies, or ``None`` when redaction is off.
ACTIVE: Redactor | None = Redactor()


def stage(fields: dict[Any, Any]) -> dict[Any, Any]:
    """The redaction stage of the pipeline: a record's fields as every sink may see them.

    Run once per record, after the rewriters and the txnId, before any sink (built-in or not)
    and any encoder sees the record: the same dict when nothing in it is secret, else a masked
    copy. The loggers' direct GELF path is the one specialised variant: it writes a line
    itself only when every field is a plain value under a name known to be harmless (see
    ``logmagic.encode._plain``), which this stage would leave as it is.
    """
    red = ACTIVE
    return fields if red is None else red.fields(fields)


def set_active(redactor: Redactor | None) -> None:
    """Install the redaction policy (``None``: off)."""
    global ACTIVE
    ACTIVE = redactor
