"""``GET /metrics``: the station in Prometheus' text format (SPEC 5 "Integration").

- ``station_scans_total{station, outcome}`` and ``station_scan_seconds{station}``
  (a histogram): the scans this process committed, from whichever path
  (station.scanning.metrics).
- ``station_spool_backlog``: scans held in the daemon's spool; under
  ``station run`` as the daemon knows it now, under ``station serve`` as
  the daemon last wrote it to the database (``device_status``).
- ``station_scanners_connected{station}``: the same two ways.
- ``station_webhook_deliveries{state}``: pending and failed deliveries of
  the configured webhooks (read from the outbox at each scrape).
- ``station_print_jobs{state}``: labels waiting in the print queue (pending)
  and refused for good (failed), over every printer (read at each scrape).

Who may read it: like a write, not like a page: the station's own
loopback clients (web.security's trust) without a login, anyone else with
``Authorization: Bearer <token>``.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, current_app, g
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from station.domain.models import DeviceStatus
from station.printing import queue as print_queue
from station.scanning.metrics import SCAN_SECONDS, SCANS
from station.webhooks import outbox

from .db import EXTENSION, StationApp
from .security import bearer_user, unauthorized

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)
REGISTRY = "station.metrics"


class StationCollector:
    """The gauges, read when scraped: from the daemon's live status when it runs here, else the database."""

    def __init__(self, app_state: StationApp):
        self.app_state = app_state

    def collect(self):
        config = self.app_state.config
        live = self.app_state.live
        backlog = GaugeMetricFamily("station_spool_backlog", "Scans held in the daemon's spool, not yet processed.")
        scanners = GaugeMetricFamily("station_scanners_connected", "Scanners connected (open, grabbed, read).",
                                     labels=["station"])
        connected = {s.id: 0 for s in config.stations}
        try:
            if live is not None:
                held = sum(live.held(s.id) for s in config.stations)
                for d in live.devices():
                    if d.state == "connected" and d.kind != "web":
                        connected[d.station] = connected.get(d.station, 0) + 1
            else:
                with self.app_state.Session() as session:
                    held = session.scalar(select(func.coalesce(func.sum(DeviceStatus.backlog), 0)))
                    for station, count in session.execute(
                            select(DeviceStatus.station, func.count()).where(DeviceStatus.state == "connected")
                            .group_by(DeviceStatus.station)):
                        connected[station] = count
        except OperationalError as exc:
            log.warning("metrics: the database cannot be read (%s): backlog and scanners left out", exc.orig)
        else:
            backlog.add_metric([], held)
            yield backlog
            for station, count in sorted(connected.items()):
                scanners.add_metric([station], count)
            yield scanners
        yield from self._deliveries(config)
        yield from self._print_jobs()

    def _print_jobs(self):
        try:
            with self.app_state.Session() as session:
                counts = print_queue.count_by_state(session)
        except OperationalError as exc:
            log.warning("metrics: the print queue cannot be read (%s): print jobs left out", exc.orig)
            return
        family = GaugeMetricFamily("station_print_jobs", "Labels in the print queue: waiting for their printer "
                                   "(pending) or refused for good (failed).", labels=["state"])
        for state, count in counts.items():
            family.add_metric([state], count)
        yield family

    def _deliveries(self, config):
        """Pending and failed deliveries; both 0 where no webhook is configured (the series is always there)."""
        counts = []
        try:
            if config.webhooks:
                with self.app_state.Session() as session:
                    counts = outbox.counts(session, [w.url for w in config.webhooks],
                                           {w.url: w.events for w in config.webhooks})
        except OperationalError as exc:
            log.warning("metrics: the outbox cannot be read (%s): webhook deliveries left out", exc.orig)
            return
        family = GaugeMetricFamily("station_webhook_deliveries", "Webhook deliveries owed (pending) and given up "
                                   "on after three days (failed), over the configured webhooks.", labels=["state"])
        family.add_metric(["pending"], sum(c.pending for c in counts))
        family.add_metric(["failed"], sum(c.failed for c in counts))
        yield family


def registry(app: Flask) -> CollectorRegistry:
    """The app's registry, made on first use: the process's scan counters and this app's gauges."""
    found = app.extensions.get(REGISTRY)
    if found is None:
        found = CollectorRegistry()
        found.register(SCANS)
        found.register(SCAN_SECONDS)
        found.register(StationCollector(app.extensions[EXTENSION]))
        found = app.extensions.setdefault(REGISTRY, found)
    return found


@bp.get("/metrics")
def metrics():
    if not g.get("trusted") and bearer_user() is None:
        return unauthorized("Metrics from another machine need a token: 'Authorization: Bearer <token>' "
                            "(station token create NAME).")
    response = Response(generate_latest(registry(current_app)))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response
