"""PostgreSQL taken away mid-stream (through a TCP proxy the test controls) and brought back:
scans are held and shown as held, then processed in order, each once.
"""
from __future__ import annotations

import pytest
from helpers.daemon import PtyScanner, device_state, proxied_postgres, wait_live, write_config
from sqlalchemy import func, select

from station import config as config_mod
from station.cli.run import web_app
from station.daemon.daemon import Daemon, daemon_engine, migrate_or_defer
from station.domain.models import Customer, Document, ScanLog
from station.live.status import LiveStatus


@pytest.fixture
def pg(tmp_path):
    """A fresh PostgreSQL schema and a proxy in front of the server."""
    with proxied_postgres(tmp_path) as parts:
        yield parts


def _texts(prefix: str, n: int) -> list[str]:
    return [f"CUS:{prefix}{i}" if i % 2 == 0 else f"KILL-{prefix}{i}" for i in range(n)]


def _logged(db) -> list[str]:
    with db.Session() as session:
        return list(session.scalars(select(ScanLog.raw).order_by(ScanLog.id)))


def test_database_away_holds_scans_then_processes_them_in_order(pg, tmp_path):
    """Guards against scans lost, doubled or reordered while the database is unreachable, and an operator left
    without the "Offline: N scans held" prompt meanwhile."""
    db, proxied_url, proxy = pg
    before, during, after = _texts("A", 6), _texts("B", 8), _texts("C", 4)
    with db.Session.begin() as session:
        session.add_all(Customer(code=t[4:], name=t) for t in before + during + after if t.startswith("CUS:"))
    scanner = PtyScanner(tmp_path / "scanner")
    config = config_mod.load(write_config(tmp_path / "station.toml", database_url=proxied_url,
                                          scanner_link=scanner.link))
    engine = daemon_engine(proxied_url)
    live = LiveStatus()
    daemon = Daemon(config, engine, live)
    daemon.start()
    try:
        wait_live(live, lambda: device_state(live, str(scanner.link)) == "connected", 5, "the scanner connected")
        for text in before:
            scanner.send(text)
        wait_live(live, lambda: len(_logged(db)) == len(before), 15, "the first scans processed")

        # Away in the middle of a burst: a scan may be mid-transaction, or mid-commit, when it goes.
        for text in during[:3]:
            scanner.send(text)
        proxy.down()
        for text in during[3:]:
            scanner.send(text)
        held_while_offline: list[int] = []

        def offline_and_all_held() -> bool:
            if live.offline:
                held_while_offline.append(live.held("counter"))
            return live.offline and 0 < live.held("counter") == len(before + during) - len(_logged(db))

        wait_live(live, offline_and_all_held, 20, "Offline with the unprocessed scans held")
        proxy.wait_refused(10)  # the daemon has tried the database again
        held = live.held("counter")
        assert live.offline and held == len(before + during) - len(_logged(db))
        # The operator's screen, from the web app of the same process.
        answer = web_app(config, engine, live).test_client().get("/api/stations/counter")
        assert answer.status_code == 503
        assert f"Offline: {held} scan{'' if held == 1 else 's'} held" in answer.get_json()["error"]["message"]
        assert held_while_offline == sorted(held_while_offline), "the held count went down while offline"

        proxy.up()
        for text in after:
            scanner.send(text)  # arrives while the held scans may still be waiting: must queue behind them
        wait_live(live, lambda: not live.offline and live.held("counter") == 0
                  and len(_logged(db)) == len(before + during + after), 30, "the held scans processed")
        wait_live(live, lambda: not daemon.spool.held(), 5, "an empty spool")
    finally:
        assert daemon.stop(3.0)
        engine.dispose()
        scanner.close()

    assert _logged(db) == before + during + after
    with db.Session() as session:
        refused = dict(session.execute(select(ScanLog.raw, ScanLog.code).where(~ScanLog.accepted)).all())
        sales = session.scalar(select(func.count()).select_from(Document).where(Document.kind == "sale"))
    assert refused == {t: "unknown_barcode" for t in before + during + after if t.startswith("KILL-")}
    assert sales == sum(1 for t in before + during + after if t.startswith("CUS:"))


def test_database_away_at_start_holds_scans_until_it_answers(pg, tmp_path):
    """Guards against a box that boots before its database server: it must read and hold scans, not exit."""
    db, proxied_url, proxy = pg
    scanner = PtyScanner(tmp_path / "scanner")
    config = config_mod.load(write_config(tmp_path / "station.toml", database_url=proxied_url,
                                          scanner_link=scanner.link))
    engine = daemon_engine(proxied_url)
    proxy.down()
    live = LiveStatus()
    daemon = Daemon(config, engine, live, migrated=migrate_or_defer(engine))
    daemon.start()
    try:
        wait_live(live, lambda: device_state(live, str(scanner.link)) == "connected", 5, "the scanner connected")
        scanner.send("KILL-EARLY")
        wait_live(live, lambda: live.offline and live.held("counter") == 1, 20, "Offline with the scan held")
        proxy.up()
        wait_live(live, lambda: not live.offline and live.held("counter") == 0, 30, "the held scan processed")
    finally:
        assert daemon.stop(3.0)
        engine.dispose()
        scanner.close()
    assert _logged(db) == ["KILL-EARLY"]
