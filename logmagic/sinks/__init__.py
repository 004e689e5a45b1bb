"""Sinks: where records go. See ``Sink`` for the contract."""

from logmagic.sinks.base import GuardedSink, Sink
from logmagic.sinks.file import FileSink
from logmagic.sinks.stdlib import StdlibSink
from logmagic.sinks.stream import ConsoleSink, FdSink, StderrSink

__all__ = ["ConsoleSink", "FdSink", "FileSink", "GuardedSink", "Sink", "StderrSink", "StdlibSink"]
