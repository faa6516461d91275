"""Traceability (SPEC 5): what a serial and a location are called in the standards the trade speaks.

- ``uris``: a serial's URI (its GS1 Digital Link when its product has a
  GTIN, else the station's own), a location's, and a serial's GS1 element
  strings, from ``[traceability]`` in the configuration.
- ``gtins``: the GTIN of each serial's product, read from the records.

The room reads the domain and the configuration and is read by the pages and
the printing room (and EPCIS, when it comes); it imports no Flask.
"""
