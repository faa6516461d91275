"""GET /metrics (SPEC 5): Prometheus' text format, the scans counted whichever path processed them, the gauges
read from the daemon or the database, and a token needed off loopback."""
from __future__ import annotations

from datetime import timedelta

from helpers.daemon import write_config
from prometheus_client.parser import text_string_to_metric_families

from station import config as config_mod
from station.cli.run import web_app
from station.config import Config, DatabaseConfig, StationConfig, WebConfig, from_dict
from station.daemon.daemon import Daemon
from station.domain import catalogue, stock, tokens
from station.domain.models import DeviceStatus, WebhookDelivery
from station.live.status import LiveStatus
from station.printing import queue as print_queue
from station.webhooks import outbox
from web import create_app

HOOK = {"url": "http://127.0.0.1:9/hook", "secret": "whsec_" + "A" * 44, "events": ["document.posted"]}


def samples(client, **kw) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **kw)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def scans(found, station: str, outcome: str) -> float:
    return found.get(("station_scans_total", (("outcome", outcome), ("station", station))), 0.0)


def test_scans_from_the_web_are_counted_by_outcome_once_each(db, world):
    """Guards station_scans_total and station_scan_seconds: every committed scan counted once by station and
    outcome (a resent idempotency key answers again and counts nothing), the histogram seeing each."""
    app = create_app(from_dict({"database": {"url": db.url}, "stations": [{"id": "till-m", "mode": "sell"}]}),
                     engine=db.engine)
    client = app.test_client()
    before = samples(client)
    for data, key in (("CMD:SELL", "k1"), ("NOPE", None), ("NOPE-2", None), ("CMD:SELL", "k1")):
        client.post("/api/stations/till-m/scans", json={"data": data, **({"id": key} if key else {})})
    after = samples(client)
    assert scans(after, "till-m", "accepted") - scans(before, "till-m", "accepted") == 1
    assert scans(after, "till-m", "refused") - scans(before, "till-m", "refused") == 2
    count = ("station_scan_seconds_count", (("station", "till-m"),))
    assert after[count] - before.get(count, 0) == 3
    assert after[("station_spool_backlog", ())] == 0
    assert after[("station_scanners_connected", (("station", "till-m"),))] == 0
    assert after[("station_print_jobs", (("state", "pending"),))] == 0  # no label asked for
    # No [[webhooks]]: the series are there all the same, at 0, so a dashboard's query never comes back empty.
    assert after[("station_webhook_deliveries", (("state", "pending"),))] == 0
    assert after[("station_webhook_deliveries", (("state", "failed"),))] == 0


def test_under_station_run_the_daemon_path_counts_and_its_live_status_is_read(db, world, tmp_path):
    """Guards the counters under ``station run``: a scan from the web goes through the daemon's ordered path and
    is counted there; the gauges come from the daemon's live status."""
    config = config_mod.load(write_config(tmp_path / "station.toml", database_url=db.url, scanner_link=None,
                                          station="till-d"))
    live = LiveStatus()
    daemon = Daemon(config, db.engine, live)
    daemon.start()
    try:
        client = web_app(config, db.engine, live).test_client()
        before = samples(client)
        assert client.post("/api/stations/till-d/scans", json={"data": "CMD:RETURN"}).get_json()["accepted"]
        live.set_device("till-d", "/dev/barcode/x", "serial", "connected")
        after = samples(client)
    finally:
        assert daemon.stop(3.0)
    assert scans(after, "till-d", "accepted") - scans(before, "till-d", "accepted") == 1
    assert after[("station_scanners_connected", (("station", "till-d"),))] == 1


def test_station_serve_reads_the_gauges_the_daemon_wrote_and_the_outbox(db, world):
    """Guards the gauges without a daemon in the process: backlog and scanners from device_status, webhook
    deliveries pending and failed from the outbox."""
    with db.Session.begin() as s:
        s.add_all([DeviceStatus(station="till", device="a", kind="evdev", state="connected", backlog=2),
                   DeviceStatus(station="till", device="b", kind="serial", state="unplugged", backlog=1)])
    for i in range(3):
        with db.Session.begin() as s:
            stock.adjust_product(s, catalogue.get_product(s, "LOOSE"), 1, f"r{i}")
    with db.Session.begin() as s:
        webhook = outbox.register(s, HOOK["url"])
        s.execute(WebhookDelivery.__table__.update().values(state="failed"))
    with db.Session.begin() as s:
        s.execute(outbox.W.update().values(cursor=0))  # the three postings are owed
        outbox.enqueue(s, webhook, HOOK["events"])
        first = outbox.head(s, webhook)
        s.execute(WebhookDelivery.__table__.update().where(WebhookDelivery.id == first.id).values(state="failed"))
    app = create_app(from_dict({"database": {"url": db.url}, "stations": [{"id": "till"}], "webhooks": [HOOK]}),
                     engine=db.engine)
    found = samples(app.test_client())
    assert found[("station_spool_backlog", ())] == 3
    assert found[("station_scanners_connected", (("station", "till"),))] == 1
    assert found[("station_webhook_deliveries", (("state", "pending"),))] == 2
    assert found[("station_webhook_deliveries", (("state", "failed"),))] == 1
    assert found[("station_print_jobs", (("state", "pending"),))] == 0


def test_print_jobs_are_counted_pending_and_failed_from_the_queue(db, world):
    """Guards station_print_jobs{state}: labels waiting and labels refused for good, as the queue holds them now
    (a printed label is neither)."""
    with db.Session.begin() as s:
        print_queue.queue_labels(s, "zebra-1", ["SN-1", "SN-2", "SN-3"], station="till")
        print_queue.queue_labels(s, "zebra-2", ["SN-4"], station="till")
    for outcome in ("printed", "failed"):
        with db.Session.begin() as s:
            job = print_queue.claim(s, "zebra-1", "test", lease=timedelta(minutes=2))
        with db.Session.begin() as s:
            if outcome == "printed":
                assert print_queue.mark_printed(s, job, "test")
            else:
                assert print_queue.mark_failed(s, job, "test", "label_too_long", "The serial does not fit.")
    app = create_app(from_dict({"database": {"url": db.url}, "stations": [{"id": "till"}]}), engine=db.engine)
    found = samples(app.test_client())
    assert found[("station_print_jobs", (("state", "pending"),))] == 2
    assert found[("station_print_jobs", (("state", "failed"),))] == 1


def test_off_loopback_metrics_need_a_token(db, tmp_path, monkeypatch):
    """Guards SPEC 5's rule for /metrics: no login on loopback, a bearer token from any other machine."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    with db.Session.begin() as s:
        token = tokens.create_token(s, "prometheus")
    app = create_app(Config(database=DatabaseConfig(db.url), web=WebConfig(host="0.0.0.0"),
                            stations=(StationConfig("till", "sell"),)), engine=db.engine)
    lan = {"REMOTE_ADDR": "192.0.2.10"}
    client = app.test_client()
    refused = client.get("/metrics", environ_base=lan)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/metrics", environ_base=lan, headers={"Authorization": "Bearer stn_wrong"}).status_code == 401
    samples(client, environ_base=lan, headers={"Authorization": f"Bearer {token}"})
    samples(client)  # the station's own screen: loopback, a local Host


def test_a_method_metrics_does_not_take_is_405(db):
    """TRACE /metrics is routing's 405, not the pages' CSRF refusal (400): schemathesis found it (issue 25)."""
    app = create_app(from_dict({"database": {"url": db.url}}), engine=db.engine)
    resp = app.test_client().open("/metrics", method="TRACE")
    assert resp.status_code == 405 and "GET" in resp.headers["Allow"]
