"""One ordered path per station under ``station run``: scans from the page and the API never overtake the
scanner's held ones (issue 10, defect 5). PostgreSQL taken away through a TCP proxy the test controls.
"""
from __future__ import annotations

import pytest
from helpers.daemon import FlakyProxy, PtyScanner, device_state, wait_live, write_config
from helpers.database import create_database
from sqlalchemy import func, select

from station import config as config_mod
from station.cli.run import web_app
from station.daemon.daemon import Daemon, daemon_engine
from station.domain.models import ScanLog
from station.live.status import LiveStatus


@pytest.fixture
def rig(tmp_path):
    """PostgreSQL behind a proxy, a daemon with one pty scanner on it, and the web app of the same process."""
    db = create_database("postgresql", tmp_path)
    proxy, proxied = FlakyProxy.before(db.url)
    scanner = PtyScanner(tmp_path / "scanner")
    config = config_mod.load(write_config(tmp_path / "station.toml", database_url=proxied, scanner_link=scanner.link))
    engine = daemon_engine(proxied)
    live = LiveStatus()
    daemon = Daemon(config, engine, live)
    daemon.start()
    wait_live(live, lambda: device_state(live, str(scanner.link)) == "connected", 5, "the scanner connected")
    yield db, proxy, scanner, live, daemon, web_app(config, engine, live).test_client()
    assert daemon.stop(3.0)
    engine.dispose()
    scanner.close()
    proxy.close()
    db.close()


def _logged(db) -> list[str]:
    with db.Session() as session:
        return list(session.scalars(select(ScanLog.raw).order_by(ScanLog.id)))


def _web_scan(client, text: str, key: str):
    return client.post("/api/stations/counter/scans", json={"data": text, "id": key, "source": "web"})


def test_page_scans_wait_behind_the_scanners_held_scans(rig):
    """Guards against scans typed into the page overtaking the scanner's held ones after an outage (OFG003
    posted before OFG000): every scan, whichever way it came, is posted in the order it was received, and a
    page resending a held scan with its key gets its answer once, never a second scan."""
    db, proxy, scanner, live, daemon, client = rig
    scanner.send("OFG-A0")
    wait_live(live, lambda: _logged(db) == ["OFG-A0"], 15, "the first scan processed")

    proxy.down()
    scanner.send("OFG000")
    wait_live(live, lambda: live.offline and live.held("counter") == 1, 20, "offline with the scanner's scan held")
    held = _web_scan(client, "OFG001", "web-1")
    assert held.status_code == 503
    body = held.get_json()
    assert body["error"] == {"code": "offline", "message": "Offline: 2 scans held"}
    assert body["queued"] is True and body["held"] == 2
    scanner.send("OFG002")
    wait_live(live, lambda: live.held("counter") == 3, 10, "the scanner's second scan held")
    assert _web_scan(client, "OFG003", "web-3").status_code == 503
    again = _web_scan(client, "OFG001", "web-1")  # the page resends with the same key: no second row
    assert again.status_code == 503 and again.get_json()["held"] == 4
    assert daemon.spool.held() == {"counter": 4}

    proxy.up()
    # Sent the moment the database is back, while the held ones may still be waiting: it queues behind them.
    last = _web_scan(client, "OFG004", "web-4")
    wait_live(live, lambda: not live.offline and live.held("counter") == 0 and len(_logged(db)) == 6, 30,
              "the held scans processed")
    assert _logged(db) == ["OFG-A0", "OFG000", "OFG001", "OFG002", "OFG003", "OFG004"]
    assert last.status_code in (200, 503)
    if last.status_code == 200:
        assert last.get_json()["code"] == "unknown_barcode"

    replay = _web_scan(client, "OFG001", "web-1")  # once more, after it was processed: its answer, replayed
    assert replay.status_code == 200 and replay.get_json()["code"] == "unknown_barcode"
    with db.Session() as session:
        assert session.scalar(select(func.count()).select_from(ScanLog).where(ScanLog.raw == "OFG001")) == 1
        keys = dict(session.execute(select(ScanLog.raw, ScanLog.idempotency_key)
                                    .where(ScanLog.device == "web")).all())
    assert keys == {"OFG001": "web-1", "OFG003": "web-3", "OFG004": "web-4"}


def test_a_page_scan_with_nothing_held_answers_at_once(rig):
    """Guards the ordered path's common case: with nothing held and the database there, a page scan is carried
    out at once and answers 200, exactly as without a daemon."""
    db, proxy, scanner, live, daemon, client = rig
    answer = _web_scan(client, "CMD:RECEIVE", "web-now")
    assert answer.status_code == 200 and answer.get_json()["accepted"] is True
    assert _logged(db) == ["CMD:RECEIVE"]
    assert daemon.spool.held() == {}


def test_an_id_sent_again_with_other_data_is_409_on_the_ordered_path(rig):
    """Guards issue 20 item 8 under ``station run``: an id held in the spool, or already processed, sent again
    with other data answers 409 ``id_reused`` (never the first scan's answer, never a second held scan); with the
    same data it answers as before. A held scan whose id turns out taken when its turn comes is refused, and the
    held scans behind it go on."""
    db, proxy, scanner, live, daemon, client = rig
    assert _web_scan(client, "OFG-B0", "web-0").status_code == 200  # carried out at once

    proxy.down()
    scanner.send("OFG-B1")
    wait_live(live, lambda: live.offline and live.held("counter") == 1, 20, "offline with the scanner's scan held")
    assert _web_scan(client, "OFG-B2", "web-2").status_code == 503
    reused = _web_scan(client, "OFG-OTHER", "web-2")
    assert reused.status_code == 409 and reused.get_json()["error"]["code"] == "id_reused"
    assert daemon.spool.held() == {"counter": 2}
    same = _web_scan(client, "OFG-B2", "web-2")
    assert same.status_code == 503 and same.get_json()["held"] == 2
    # Taken by a scan processed before the outage: nobody can tell until the database is back.
    assert _web_scan(client, "OFG-OTHER", "web-0").status_code == 503
    scanner.send("OFG-B3")
    wait_live(live, lambda: live.held("counter") == 4, 10, "the scanner's second scan held")

    proxy.up()
    wait_live(live, lambda: not live.offline and live.held("counter") == 0 and len(_logged(db)) == 4, 30,
              "the held scans processed")
    assert _logged(db) == ["OFG-B0", "OFG-B1", "OFG-B2", "OFG-B3"]
    for key in ("web-0", "web-2"):
        again = _web_scan(client, "OFG-OTHER", key)
        assert again.status_code == 409 and again.get_json()["error"]["code"] == "id_reused"
    for text, key in (("OFG-B2", "web-2"), ("OFG-B0", "web-0")):
        replay = _web_scan(client, text, key)
        assert replay.status_code == 200 and replay.get_json()["code"] == "unknown_barcode"
    assert _logged(db) == ["OFG-B0", "OFG-B1", "OFG-B2", "OFG-B3"]
