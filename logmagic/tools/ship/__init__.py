"""The shipper: ``logmagic ship`` follows log files like ``tail -F`` and forwards every line.

Sources cut files (``file_source``) and svlogd directories (``svlogd_source``) into batches
of whole lines, sharing ``source``; ``kinds`` tells which a path is. Reading the files is
``logmagic.tools.logfiles``'s, which ``gelf-chainsaw`` shares. The
shipper (``shipper``) sends each batch to a destination (``destination``: Scribe or HTTP)
and records, in the state file (``state``), the position after every acknowledged batch.
"""
