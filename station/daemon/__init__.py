"""The daemon of ``station run``: scanner readers, the durable spool, the processor and the live status.

The only layer that owns threads besides the web server; it feeds scans to
the scan service exactly as the HTTP API does.
"""
