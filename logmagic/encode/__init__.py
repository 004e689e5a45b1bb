"""Encoders: a record becomes bytes. None of them ever raises, whatever the fields hold."""

from logmagic.encode.console import ConsoleEncoder
from logmagic.encode.gelf import GelfEncoder
from logmagic.encode.jsonl import JsonEncoder

__all__ = ["ConsoleEncoder", "GelfEncoder", "JsonEncoder"]
