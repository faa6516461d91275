"""Printing: labels queued with the work that asks for them, sent to the printers by the daemon (SPEC 5 Printing).

- ``queue``: the durable print queue, ``print_job`` rows written in the
  caller's transaction (a receipt's posting, CMD:PRINT, ``station labels
  serials --print``), claimed and marked by the workers.
- ``bell``: rung by the transaction that queues labels, heard by the daemon,
  so nothing polls.
- ``labels``: Code 128 labels (SVG, PNG), and the renderer raster printers
  draw with; ``matrix``: 2D labels (DataMatrix, QR code) drawn by zxing-cpp;
  ``sheets``: the printable page of either, with its files.
- ``symbols``: what a serial's label carries in a printer's symbology (its
  GS1 element string or Digital Link when its product has a GTIN).
- ``scan_labels``: what a scan queues (CMD:PRINT, ``print_on_receive``);
  the scan service calls it, and it talks to no printer.
- ``worker``: one printer's sender thread; ``dispatch``: the configured
  printers' drivers and workers, woken by the bell (``station run``).

Only ``worker`` and ``dispatch`` reach the printer drivers (``drivers.printers``;
the renderers share the drivers' ``Symbol`` and 2D grid);
the scan path reaches ``scan_labels``, ``queue`` and ``bell`` alone.
"""
