"""Webhooks: every event of the integration feed POSTed to each configured receiver, in order (SPEC 5 "Integration").

- ``outbox``: the delivery rows made from the feed, their order, retries and
  the lease that keeps two daemons from sending one webhook at once.
- ``payload``: an event as JSON, its subject as the API gives it (the feed's
  ``GET /api/events`` renders with it too), and the bytes a POST carries.
- ``signing``: the Standard Webhooks headers of one attempt.
- ``sender``: one POST within its deadline, its outcome never an exception.
- ``deliverer``: one thread per webhook under ``station run``, tying them
  together apart from the scans.

The posting writes only the event (station.domain.events); nothing here
runs on the scan path.
"""
