"""OpenTelemetry: the current span's trace and span ids on records and in outbound ``traceparent``.

Nothing here imports ``opentelemetry`` unless the application has imported it already: every
function first looks for ``opentelemetry.trace`` in ``sys.modules``, so a process without
OpenTelemetry pays one dictionary lookup per request and nothing per record. Install the
optional dependency with ``pip install 'logmagic[otel]'`` (``opentelemetry-api``).

OpenTelemetry counts as *in use* when a tracer provider of an SDK is installed globally
(``trace.set_tracer_provider``), or when a span of this process is current while a request
begins. From then on (``install()``, which the web middleware calls itself) every record
written while a span of this process is current carries that span's ``trace_id`` and
``span_id``: they win over the ids taken from an inbound ``traceparent``, while fields the
record names itself win over both. ``install()`` adds ``span_fields`` to the rewriter chain;
``configure(rewriters=...)`` and ``reset()`` take it out again, and the next request (or
another ``install()``) puts it back.

A span that is only a remote parent (the context OpenTelemetry extracted from a request,
``is_remote``) is the caller's span, not this process's: it is not used, and logmagic continues
the trace from the inbound header itself.
"""

from __future__ import annotations

import sys
from typing import Any

from logmagic.trace_context import TraceParent

__all__ = ["current_trace", "in_use", "install", "installed", "request_trace", "span_fields"]

_TRACE_MODULE = "opentelemetry.trace"


def current_trace() -> TraceParent | None:
    """The current OpenTelemetry span of this process as a trace context, or ``None``: when
    OpenTelemetry is not loaded, no span is current, or the current one is a remote parent."""
    if _TRACE_MODULE not in sys.modules:
        return None
    try:
        from opentelemetry import trace

        ctx = trace.get_current_span().get_span_context()
        if not ctx.is_valid or ctx.is_remote:
            return None
        return TraceParent(
            format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"), int(ctx.trace_flags), ctx.trace_state.to_header()
        )
    except Exception:  # a broken or half-initialised SDK must not break a request or a record
        return None


def in_use() -> bool:
    """Whether the application traces with OpenTelemetry: ``opentelemetry`` is loaded and either
    a tracer provider other than the API's default (proxy or no-op) is installed, or a span of
    this process is current."""
    if _TRACE_MODULE not in sys.modules:
        return False
    try:
        from opentelemetry import trace

        provider = trace.get_tracer_provider()
        if not isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
            return True
    except Exception:
        return False
    return current_trace() is not None


def span_fields(facility: str, level: int, msg: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Rewriter: ``trace_id`` and ``span_id`` of the current OpenTelemetry span, unless the record
    names either itself. Never raises."""
    if "trace_id" in fields or "span_id" in fields:
        return fields
    trace = current_trace()
    if trace is not None:
        fields["trace_id"] = trace.trace_id
        fields["span_id"] = trace.span_id
    return fields


def installed() -> bool:
    """Whether ``span_fields`` is in the rewriter chain."""
    from logmagic import rewriters

    return span_fields in rewriters.chain()


def install() -> None:
    """Put the current span's ids on every record from now on (idempotent).

    The web middleware call this when they see OpenTelemetry in use; call it yourself in a
    process that has no middleware (a worker, a script) and traces with OpenTelemetry.
    """
    if not installed():
        from logmagic.config import add_rewriter

        add_rewriter(span_fields)


def request_trace() -> TraceParent | None:
    """For a request that begins now: the current span of this process (``install()`` done when
    OpenTelemetry is in use), or ``None`` to continue the inbound ``traceparent`` instead."""
    if _TRACE_MODULE not in sys.modules or not in_use():
        return None
    install()
    return current_trace()
