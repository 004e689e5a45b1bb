"""The shipper: ``logmagic ship`` follows log files like ``tail -F`` and forwards every line.

Sources (``source``) cut files and svlogd directories into batches of whole lines; the
shipper (``shipper``) sends each batch to a destination (``destination``: Scribe or HTTP)
and records, in the state file (``state``), the position after every acknowledged batch.
"""
