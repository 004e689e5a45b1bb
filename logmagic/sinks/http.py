"""The HTTP sink: batches POSTed to a collector, or GELF HTTP messages for Graylog.

``http://host/path`` or ``https://...``: each batch is one POST of NDJSON (one GELF line per
record, ``Content-Type: application/x-ndjson``). ``?format=gelf``: one message per POST, as
Graylog's GELF HTTP input expects, over a kept-alive connection.

2xx is delivered; 429, 5xx and connection errors are retried with backoff, honoring a
positive ``Retry-After``; any other 4xx drops the batch (counted, reported once per 10 s): a bad
configuration never loops forever. TLS is verified by default (``ca=`` for a private CA).
Headers come from ``headers=`` or ``$LOGMAGIC_HTTP_HEADERS`` (``Name: value; Name: value``);
their values are never logged. urllib3 is imported only when this sink is made.
"""

from __future__ import annotations

import gzip
import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from logmagic.sinks.queued import QueuedSink, Reject, Retry

#: Statuses worth retrying: rate limits and server errors.
RETRYABLE = frozenset((408, 425, 429, 500, 502, 503, 504))


def _parse_headers(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(";"):
        if item.strip():
            name, sep, value = item.partition(":")
            if not sep or not name.strip():
                raise ValueError("LOGMAGIC_HTTP_HEADERS must look like 'Name: value; Name: value'")
            out[name.strip()] = value.strip()
    return out


def _retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for; None (our own backoff) unless it is a positive number.

    ``0`` or a negative number would switch the backoff off and hammer a collector that is
    already struggling; an HTTP date is rare from collectors and not worth a parser.
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 < seconds < float("inf") else None


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
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"http sink: {url!r} is not an http(s):// URL with a host")
        if format not in ("ndjson", "gelf"):
            raise ValueError(f"http sink: format must be ndjson or gelf, not {format!r}")
        if ca is not None and not os.path.isfile(ca):
            raise ValueError(f"http sink: CA file {ca!r} does not exist")
        try:
            import urllib3
        except ImportError:
            raise ValueError("the http sink needs urllib3: pip install 'logmagic[http]'") from None
        # format=gelf: one message per POST, so a retry or a refusal is about that message alone.
        if format == "gelf" and queue_options.setdefault("batch_size", 1) != 1:
            raise ValueError("http sink: format=gelf posts one message per request, so batch_size must be 1")
        super().__init__(**queue_options)
        self.url = url
        self.format = format
        self.gzip_body = gzip_body
        self.timeout = timeout
        env_headers = os.environ.get("LOGMAGIC_HTTP_HEADERS")
        self.headers = {**(_parse_headers(env_headers) if env_headers else {}), **(headers or {})}
        self.headers.setdefault("Content-Type", "application/json" if format == "gelf" else "application/x-ndjson")
        if gzip_body:
            self.headers["Content-Encoding"] = "gzip"
        tls: dict[str, Any] = {}
        if parts.scheme == "https":
            tls = {"cert_reqs": "CERT_REQUIRED" if verify else "CERT_NONE"}
            if ca:
                tls["ca_certs"] = ca
        self._pool = urllib3.PoolManager(num_pools=1, maxsize=1, retries=False, **tls)
        self._timeout = urllib3.Timeout(connect=min(timeout, 5.0), read=timeout)
        self._urllib3 = urllib3

    def __repr__(self) -> str:  # never show header values (tokens)
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # IPv6
        netloc = f"{host}:{parts.port}" if parts.port else host  # never the user:password part
        return f"<HttpSink {urlunsplit((parts.scheme, netloc, parts.path, '', ''))}>"

    def deliver(self, batch: list[bytes]) -> None:
        body = b"".join(batch) if self.format == "ndjson" else batch[0].rstrip(b"\n")  # gelf: one per batch
        if self.gzip_body:
            body = gzip.compress(body, compresslevel=5)
        try:
            resp = self._pool.request(
                "POST", self.url, body=body, headers=self.headers, timeout=self._timeout, redirect=False
            )
        except self._urllib3.exceptions.HTTPError as exc:
            raise Retry(f"{type(exc).__name__}: {exc}") from None
        status = resp.status
        if 200 <= status < 300:
            return
        if status in RETRYABLE:
            raise Retry(f"HTTP {status}", _retry_after(resp.headers.get("Retry-After")))
        raise Reject(f"HTTP {status} from {self!r}", status)

    def close_connection(self) -> None:
        self._pool.clear()
