"""The host tools: ``gelf-chainsaw``, ``logmagic ship`` and ``logmagic txn``, and the log-file
library they share (``logfiles``). They load none of the logging runtime, except the shipper,
which logs its own records through it (see docs/architecture.md)."""
