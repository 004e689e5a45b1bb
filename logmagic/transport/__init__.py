"""Clients for the collectors logmagic sends lines to, and what a failed send means.

Each client is usable on its own: construct it, ``send(batch)`` a list of lines (bytes, each
ending in a newline), ``close()``. A send returns once the collector took the batch and
raises ``Retry`` (try the same batch again later) or ``Reject`` (the collector refused it for
good). A client keeps at most one connection and starts no thread: the network sinks call
one from their worker thread (``logmagic.sinks.queued``), ``logmagic ship`` from its loop.

* ``retry``: ``Retry``, ``Reject`` and the backoff between two tries.
* ``urls``: collector URLs (``scribe://``, ``http(s)://``, ``gelf+udp://``, ``gelf+tcp://``,
  ``gelf+tls://``) taken apart, their options checked, for the sinks and the shipper alike.
* ``scribe``: Scribe over Thrift (thriftpy2, imported when a client is made).
* ``http``: POSTs of NDJSON or GELF messages (urllib3, imported when a client is made).
* ``gelf``: GELF over UDP (compressed, chunked), TCP and TLS.

This package's ``__init__`` imports nothing, so importing one client loads no other.
"""
