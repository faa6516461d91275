"""Printing: labels queued with the work that asks for them, sent to the printers by the daemon (SPEC 5 Printing).

- ``queue``: the durable print queue, ``print_job`` rows written in the
  caller's transaction (a receipt's posting, CMD:PRINT, ``station labels
  serials --print``), claimed and marked by the workers.
- ``bell``: rung by the transaction that queues labels, heard by the daemon,
  so nothing polls.
- ``labels``: Code 128 labels and command sheets (SVG, PNG, the printable
  page), and the renderer raster printers draw with.
- ``scan_labels``: what a scan queues (CMD:PRINT, ``print_on_receive``);
  the scan service calls it, and it talks to no printer.
- ``worker``: one printer's sender thread; ``dispatch``: the configured
  printers' drivers and workers, woken by the bell (``station run``).

Only ``worker`` and ``dispatch`` reach the printer drivers (``drivers.printers``);
the scan path reaches ``scan_labels``, ``queue`` and ``bell`` alone.
"""
