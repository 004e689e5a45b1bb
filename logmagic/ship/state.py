"""The shipper's state file: per source, the position after the last acknowledged line.

Written atomically (a temporary file in the same directory, ``fsync``, ``rename``, then an
``fsync`` of the directory), so a crash leaves either the old state or the new one, never a
torn file. A state file that cannot be read is an error, not a silent restart from zero.
"""

from __future__ import annotations

import os
from typing import Any

import orjson

from logmagic.ship.files import FINGERPRINT_BYTES
from logmagic.ship.source import Position

VERSION = 1


class StateError(Exception):
    """The state file exists but cannot be used."""


class StateFile:
    """Load and save ``{source path: Position}``."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.positions: dict[str, Position] = {}

    def load(self) -> dict[str, Position]:
        try:
            with open(self.path, "rb") as f:
                data: Any = orjson.loads(f.read())
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError) as exc:
            raise StateError(f"state file {self.path}: cannot read it: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("sources"), dict):
            raise StateError(f"state file {self.path}: not a logmagic ship state (version {VERSION})")
        try:
            self.positions = {k: _checked(Position.from_json(v)) for k, v in data["sources"].items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"state file {self.path}: malformed entry: {exc}") from None
        return dict(self.positions)

    def save(self, positions: dict[str, Position]) -> None:
        self.positions = dict(positions)
        body = orjson.dumps(
            {"version": VERSION, "sources": {k: p.to_json() for k, p in positions.items()}}, option=orjson.OPT_INDENT_2
        )
        write_atomically(self.path, body)


def _checked(position: Position) -> Position:
    """``position``, if its numbers can be a place in a file (a negative offset cannot be sought)."""
    if position.offset < 0:
        raise ValueError(f"offset {position.offset} is negative")
    if not 0 <= position.file.fp_len <= FINGERPRINT_BYTES:
        raise ValueError(f"fp_len {position.file.fp_len} is not between 0 and {FINGERPRINT_BYTES}")
    return position


def write_atomically(path: str, body: bytes, sync: bool = True) -> None:
    """Replace ``path`` with ``body`` so that readers see the old or the new content, whole."""
    directory = os.path.dirname(path) or "."
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if sync:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
