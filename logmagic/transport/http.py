"""An HTTP client: batches POSTed to a collector as NDJSON, or as GELF messages for Graylog.

``format="ndjson"``: a batch is one POST of its lines (``Content-Type: application/x-ndjson``).
``format="gelf"``: one POST per line, without its newline, as Graylog's GELF HTTP input
expects. Connections are kept alive; ``gzip_body`` compresses each body.

2xx is delivered; 408, 425, 429, 5xx and connection errors raise ``Retry``, with a positive
``Retry-After`` in seconds as its delay; any other status raises ``Reject`` with the status.
Redirects are not followed. TLS is verified by default (``ca`` for a private CA, ``verify=False``
to switch it off). Headers come from ``headers`` and ``$LOGMAGIC_HTTP_HEADERS``
(``Name: value; Name: value``); their values never appear in a repr or an error. urllib3 is
imported when a client is made.
"""

from __future__ import annotations

import gzip
import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from logmagic.transport.retry import Reject, Retry

__all__ = ["FORMATS", "RETRYABLE", "HttpClient", "parse_headers", "retry_after", "safe_url"]

#: Statuses worth retrying: rate limits and server errors.
RETRYABLE = frozenset((408, 425, 429, 500, 502, 503, 504))
FORMATS = ("ndjson", "gelf")


def parse_headers(text: str) -> dict[str, str]:
    """``Name: value; Name: value`` (``$LOGMAGIC_HTTP_HEADERS``) as a mapping."""
    out = {}
    for item in text.split(";"):
        if item.strip():
            name, sep, value = item.partition(":")
            if not sep or not name.strip():
                raise ValueError("LOGMAGIC_HTTP_HEADERS must look like 'Name: value; Name: value'")
            out[name.strip()] = value.strip()
    return out


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for; None (the caller's own backoff) unless it is a
    positive number.

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


def safe_url(url: str) -> str:
    """``url`` without a ``user:password@`` part, a query or a fragment: fit for a repr or an error."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host  # IPv6
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class HttpClient:
    """POST batches of lines to one HTTP(S) URL, over one kept-alive connection."""

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
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s):// URL with a host")
        try:
            parts.port  # noqa: B018 - a port that is not a number raises here, not in a repr
        except ValueError:
            raise ValueError(f"{url!r}: the port is not a number") from None
        if format not in FORMATS:
            raise ValueError(f"format must be ndjson or gelf, not {format!r}")
        if ca is not None and not os.path.isfile(ca):
            raise ValueError(f"CA file {ca!r} does not exist")
        try:
            import urllib3
        except ImportError:
            raise ValueError("urllib3 is not installed: pip install 'logmagic[http]'") from None
        self.url = url
        self.format = format
        self.gzip_body = gzip_body
        self.timeout = timeout
        env_headers = os.environ.get("LOGMAGIC_HTTP_HEADERS")
        self.headers = {**(parse_headers(env_headers) if env_headers else {}), **(headers or {})}
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

    def send(self, batch: list[bytes]) -> None:
        """POST ``batch``: one request (NDJSON), or one per line in turn (GELF), stopping at
        the first that fails; the lines before it were delivered and a retry sends them again."""
        if self.format == "ndjson":
            self._post(b"".join(batch))
        else:
            for line in batch:
                self._post(line.rstrip(b"\n"))

    def _post(self, body: bytes) -> None:
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
            raise Retry(f"HTTP {status}", retry_after(resp.headers.get("Retry-After")))
        raise Reject(f"HTTP {status} from {safe_url(self.url)}", status)

    def close(self) -> None:
        """Close the kept connection; the next send opens another."""
        self._pool.clear()

    def __repr__(self) -> str:  # never header values (tokens) nor a password in the URL
        return f"<HttpClient {safe_url(self.url)}>"
