"""Bridges between logmagic and other logging APIs.

* ``logmagic.integrations.stdlib``: the standard library's ``logging``, both ways.
* ``logmagic.integrations.structlog``: structlog processors (txnIds, routing into logmagic, GELF).
* ``logmagic.integrations.otel``: OpenTelemetry's current span ids on records and outbound
  ``traceparent`` (imports ``opentelemetry`` only when the application has).
* ``logmagic.integrations.celery``: Celery tasks run in the transaction they were published
  in (``install()``; needs ``logmagic[celery]``).

Each module is imported on its own; importing this package imports none of them.
"""
