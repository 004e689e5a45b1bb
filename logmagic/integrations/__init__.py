"""Bridges between logmagic and other logging APIs.

* ``logmagic.integrations.stdlib``: the standard library's ``logging``, both ways.
* ``logmagic.integrations.structlog``: structlog processors (txnIds, routing into logmagic, GELF).

Each module is imported on its own; importing this package imports neither.
"""
