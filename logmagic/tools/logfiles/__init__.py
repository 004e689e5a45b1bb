"""The log-file library the host tools share: ``gelf-chainsaw`` reads with it, ``logmagic ship``
follows with it.

One definition of each thing both tools need to know about files on a host:

* ``identity``: who a file is (device, inode, first bytes) and opening it safely (no
  symbolic link, no FIFO or device, no file of another user).
* ``lines``: the one line cutter, which bounds how long a line may be.
* ``compressed``: the one gzip reader (gzip known by content, not by name).
* ``prefix``: svlogd's timestamp prefixes on lines.
* ``svlogd``: the svlogd directory model: names, TAI64N stamps, the listing, rotation.
* ``rotation``: logrotate's generations beside a file.
* ``streams``: files read as one byte stream, in blocks of whole lines.
* ``follow``: following files like ``tail -F``.

Nothing here imports the logging runtime: a tool built on this package loads no sink.
"""
