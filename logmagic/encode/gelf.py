"""GELF 1.1 lines: the format Graylog reads, and logmagic's production format on stderr.

Rules (see docs/gelf.md): every field becomes an additional field prefixed ``_``; a top-level
``id`` is sent as ``_objid`` (``_id`` is reserved by Graylog); a field named ``facility`` is
sent as ``_field_facility`` so it cannot overwrite the record's ``_facility``; names keep only
``[A-Za-z0-9_.-]``; nested mappings (and dataclasses) are flattened with ``_``
(``headers.user-agent`` becomes ``_headers_user-agent``); values Graylog cannot index (lists,
objects, huge or non-finite numbers) become strings. Trace levels are sent as syslog level 7
with the exact level in ``_exact_level``. A record writes at most ``MAX_FIELDS`` additional
fields, and ``_dropped_fields`` says how many keys it left out: a hostile mapping costs one
record a bounded amount of work, never the caller seconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from logmagic import redact
from logmagic._identity import IDENTITY
from logmagic._safe import (
    MAX_FIELDS,
    MAX_LINE,
    MAX_STRING,
    SHRINK_CAPS,
    Budget,
    cap,
    clean,
    describe_exception,
    object_fields,
    readable_parts,
    safe_key,
    safe_number,
    scalar_text,
    to_jsonable,
)
from logmagic.encode import _plain
from logmagic.record import Record

__all__ = ["EMPTY_MESSAGE", "NAMES", "GelfEncoder", "forget_names", "learn_names"]

_NEWLINE = orjson.OPT_APPEND_NEWLINE
_BAD_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
_RENAMED = {"id": "_objid", "facility": "_field_facility", "exact_level": "_field_exact_level"}
#: Names the record itself owns: a field whose cleaned (or flattened) name lands on one moves aside.
_OWNED = {"_id": "_objid", "_facility": "_field_facility", "_exact_level": "_field_exact_level"}
_KEY_CACHE_LIMIT = 10_000
#: Nested mappings deeper than this are sent as one JSON string.
_MAX_FLATTEN_DEPTH = 8
#: ``short_message`` of a record logged with an empty or blank (whitespace only) message:
#: Graylog rejects a record whose ``short_message`` is blank.
EMPTY_MESSAGE = "(empty message)"


def _gelf_name(key: str) -> str:
    """The additional-field name for a field name: ``_`` + the name with bad characters replaced."""
    name = "_" + _BAD_KEY_CHARS.sub("_", key) if key else "_empty"
    return _OWNED.get(name, name)


#: Field name -> GELF name, shared by every encoder and the loggers' direct GELF path
#: (``logmagic.call_paths``); secret names are never cached, so they always take the slow branch
#: that masks them. Cleared when the redaction policy changes. Starts empty: even ``id`` and
#: ``facility`` must be checked once, since they may be secret.
NAMES: dict[Any, str] = {}


def forget_names() -> None:
    """Drop cached names (after ``logmagic.configure(redact=...)``)."""
    NAMES.clear()


def _name_for(key: object) -> str:
    """A top-level field's GELF name, cached when the name is not a secret one.

    The cache is what the loggers' direct GELF path writes without the pipeline's redaction
    stage (``logmagic.encode._plain``), so a secret name never enters it: a record with one
    always takes the general path, which redacts. The encoder itself masks nothing.
    """
    text = safe_key(key)
    name = _RENAMED.get(text) or _gelf_name(text)
    red = redact.ACTIVE
    if red is not None and red.is_secret(key):
        return name
    if type(key) is str and len(NAMES) < _KEY_CACHE_LIMIT:
        NAMES[key] = name
        if redact.ACTIVE is not red:  # the policy changed meanwhile: its cache clear may have come first
            NAMES.pop(key, None)
    return name


def learn_names(fields: dict[Any, Any]) -> None:
    """Cache the GELF names of ``fields``' top-level keys (never a secret one), as encoding a
    record with them would: for the flight recorder, whose records are kept unencoded, so
    that names seen only in kept records still let later ones skip the redaction stage."""
    for key in fields:
        if type(key) is str and key not in NAMES:
            _name_for(key)


class GelfEncoder:
    """Encode a record as one GELF 1.1 JSON line (bytes, newline-terminated)."""

    __slots__ = ()

    def encode(self, rec: Record) -> bytes:
        """The record as a GELF line. Never raises.

        Most records hold only plain values (text, numbers, booleans, None) under names seen
        before: their line is made by ``_plain.plain_gelf_line``, as on the loggers' direct
        path (``logmagic.call_paths.make_gelf_line``). Anything else (``None`` from it) starts
        over on the careful path.
        """
        try:
            level = rec.level
            if level <= 7 and rec.full_message is None:
                line = _plain.plain_gelf_line(
                    IDENTITY.host,
                    rec.msg,
                    rec.timestamp,
                    level,
                    rec.facility,
                    rec.fields,
                    NAMES,
                    None,
                    EMPTY_MESSAGE,
                    orjson.dumps,
                    _NEWLINE,
                )
                if line is not None:
                    return line
        except Exception:  # a hostile record: the careful path copes
            pass
        return _careful(rec)


class _Walk:
    """One record's limits on the careful path: fields still allowed, keys left out, and the
    walk budget of the converter for the values written as JSON text."""

    __slots__ = ("budget", "dropped", "fields_left")

    def __init__(self) -> None:
        self.fields_left = MAX_FIELDS
        self.dropped = 0
        self.budget = Budget()


def _careful(rec: Record) -> bytes:
    """The record as a GELF line, whatever its fields hold. Never raises."""
    try:
        msg = rec.msg
        level = rec.level
        d: dict[str, Any] = {
            "version": "1.1",
            "host": IDENTITY.host,
            "short_message": _short(msg),
            "timestamp": int(rec.timestamp * 1000) / 1000,
            "level": level if level <= 7 else 7,
            "_facility": rec.facility,
        }
        if rec.full_message is not None:
            d["full_message"] = cap(rec.full_message)
        if level > 7:
            d["_exact_level"] = level
        walk = _Walk()
        fields = rec.fields
        for i, (k, v) in enumerate(fields.items()):
            if walk.fields_left <= 0:
                walk.dropped += len(fields) - i
                txn = fields.get("txnId", d)  # ``d``: no such field
                if txn is not d and _field(d, "txnId", txn, walk, added=False):
                    walk.dropped -= 1  # the record's txnId is kept, past the cap too
                break
            walk.fields_left -= 1
            _field(d, k, v, walk)
        if walk.dropped:
            d["_dropped_fields"] = walk.dropped
        try:
            line = orjson.dumps(d, option=_NEWLINE)
        except Exception:  # big ints, lone surrogates
            line = orjson.dumps(_sanitize(d), option=_NEWLINE)
        if len(line) > MAX_LINE:
            line = _shrink(d)
        return line
    except Exception as exc:  # a bug or a hostile object beyond what the paths above catch
        return _emergency_line(rec, exc)


def _field(d: dict[str, Any], k: Any, v: Any, walk: _Walk, added: bool = True) -> bool:
    """Write one top-level field into ``d``; False when ``added`` is False and it is there already."""
    name = NAMES.get(k) if type(k) is str else None  # any other key's __eq__ may raise
    if name is None:
        name = _name_for(k)
    if not added and name in d:
        return False
    t = type(v)
    if t is str:
        d[name] = v if len(v) <= MAX_STRING else cap(v)
    elif t is int or t is bool or v is None:
        d[name] = v
    elif t is float:
        d[name] = v if v - v == 0 else repr(v)
    else:
        try:
            _add_value(d, name, v, 0, set(), walk)
        except Exception as exc:  # one hostile value must not cost the record its other fields
            d[name] = f"<unreadable value: {describe_exception(exc)}>"
    return True


def _short(msg: str) -> str:
    """``short_message`` for an empty, blank or huge message: Graylog rejects a blank one."""
    return cap(msg) if msg and not msg.isspace() else EMPTY_MESSAGE


def _add_value(d: dict[str, Any], name: str, value: Any, depth: int, active: set[int], walk: _Walk) -> None:
    """Put a non-plain value into the flat GELF dict: flatten mappings, stringify the rest."""
    if isinstance(value, Mapping):
        if id(value) in active:
            d[name] = "<cycle>"
            return
        if depth >= _MAX_FLATTEN_DEPTH:
            d[name] = _json_text(value, walk)
            return
        active.add(id(value))
        try:
            for i, (k, v) in enumerate(value.items()):
                if walk.fields_left <= 0:
                    walk.dropped += len(value) - i
                    break
                walk.fields_left -= 1
                sub = f"{name}_{_BAD_KEY_CHARS.sub('_', safe_key(k))}"
                _add_value(d, _OWNED.get(sub, sub), v, depth + 1, active, walk)
        except Exception as exc:
            d[name] = scalar_text(exc)
        finally:
            active.discard(id(value))
        return
    if type(value) is str:
        d[name] = cap(value)
    elif isinstance(value, str):
        d[name] = cap(clean(str.__str__(value)))
    elif value is None or type(value) is bool:
        d[name] = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        d[name] = safe_number(value)
    elif isinstance(value, (list, tuple, set, frozenset)):
        d[name] = _json_text(value, walk)
    else:
        try:
            fields = object_fields(value)
        except Exception as exc:
            d[name] = scalar_text(exc)
            return
        if fields is None:
            d[name] = scalar_text(value)
        elif id(value) in active:  # known by itself: its dict of fields is new at each visit
            d[name] = "<cycle>"
        else:  # flattened like a mapping, so a secret field in it is masked (never its repr)
            active.add(id(value))
            try:
                _add_value(d, name, fields, depth, active, walk)
            finally:
                active.discard(id(value))


def _json_text(value: Any, walk: _Walk) -> str:
    """A container as compact JSON text (Graylog indexes strings, not arrays), capped."""
    return cap(orjson.dumps(to_jsonable(value, budget=walk.budget)).decode("utf-8"))


def _sanitize(d: dict[str, Any]) -> dict[str, Any]:
    """Make every value of a flat GELF dict encodable (lone surrogates, ints beyond 64 bits)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, str):
            v = clean(v)
        elif isinstance(v, int) and not isinstance(v, bool):
            v = safe_number(v)
        out[clean(k)] = v
    return out


def _shrink(d: dict[str, Any]) -> bytes:
    """Re-encode an over-long record within MAX_LINE: cut strings harder, then drop fields."""
    base = _sanitize(d)
    for limit in SHRINK_CAPS:
        small = {k: cap(v, limit) if isinstance(v, str) else v for k, v in base.items()}
        small["_truncated"] = True
        line = orjson.dumps(small, option=_NEWLINE)
        if len(line) <= MAX_LINE:
            return line
    kept: dict[str, Any] = {}
    size = 0
    dropped = 0
    for k, v in small.items():
        if k == "_dropped_fields":
            continue  # counted below, with those dropped here
        item = len(orjson.dumps({k: v}))
        if k.startswith("_") and k != "_facility" and size + item > MAX_LINE // 2:
            dropped += 1
            continue
        kept[k] = v
        size += item
    kept["_truncated"] = True  # the loop above may have dropped it with the fields
    kept["_dropped_fields"] = dropped + (base.get("_dropped_fields") or 0)  # with those the cap left out
    return orjson.dumps(kept, option=_NEWLINE)


def _emergency_line(rec: Record, exc: BaseException) -> bytes:
    """The last resort: a minimal valid line that says the record could not be encoded."""
    msg, facility, ts = readable_parts(rec)
    return orjson.dumps(
        {
            "version": "1.1",
            "host": clean(IDENTITY.host),
            "short_message": msg,
            "timestamp": ts,
            "level": 3,
            "_facility": facility,
            "_logmagic_error": scalar_text(exc),
        },
        option=_NEWLINE,
    )
