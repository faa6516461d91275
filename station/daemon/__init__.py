"""The daemon of ``station run``: scanner readers, the durable spool and the processor.

The only layer that owns threads besides the web server and the rooms it
starts (the print workers, the webhook deliverer); it feeds scans to the
scan service exactly as the HTTP API does, and tells the live status
(station.live.status) what the database cannot: held scans, scanners.
"""
