"""The HTTP sink: batches POSTed to a collector, or GELF HTTP messages for Graylog.

``http://host/path`` or ``https://...``: each batch is one POST of NDJSON (one GELF line per
record, ``Content-Type: application/x-ndjson``). ``?format=gelf``: one message per POST, as
Graylog's GELF HTTP input expects, over a kept-alive connection; the batch size is then 1, so
that a retry or a refusal is about that message alone.

The client (``logmagic.transport.http``) maps statuses: 2xx is delivered; 429, 5xx and
connection errors are retried with backoff, honoring a positive ``Retry-After``; any other
4xx drops the batch (counted, reported once per 10 s): a bad configuration never loops
forever. TLS is verified by default (``ca=`` for a private CA). Headers come from
``headers=`` or ``$LOGMAGIC_HTTP_HEADERS`` (``Name: value; Name: value``); their values are
never logged. urllib3 is imported only when this sink is made.
"""

from __future__ import annotations

from typing import Any

from logmagic.sinks.queued import QueuedSink
from logmagic.transport.http import HttpClient, safe_url

__all__ = ["HttpSink"]


class HttpSink(QueuedSink):
    """POST batches of GELF lines to an HTTP(S) collector."""

    def __init__(
        self,
        url: str,
        *,
        format: str = "ndjson",
        gzip_body: bool = False,
        headers: dict[str, str] | None = None,
        ca: str | None = None,
        verify: bool = True,
        timeout: float = 10.0,
        **queue_options: Any,
    ) -> None:
        try:
            self.client = HttpClient(
                url, format=format, gzip_body=gzip_body, headers=headers, ca=ca, verify=verify, timeout=timeout
            )
        except ValueError as exc:
            raise ValueError(f"http sink: {exc}") from None
        if format == "gelf" and queue_options.setdefault("batch_size", 1) != 1:
            raise ValueError("http sink: format=gelf posts one message per request, so batch_size must be 1")
        super().__init__(**queue_options)

    def __repr__(self) -> str:  # never show header values (tokens)
        return f"<HttpSink {safe_url(self.client.url)}>"

    def deliver(self, batch: list[bytes]) -> None:
        self.client.send(batch)

    def close_connection(self) -> None:
        self.client.close()
