"""The screens are told of a scanner's scan once it is committed and marked done in the spool (issue 22).

A screen told of a scan fetches the station's state at once; the spool's mark
is written before it is told, so that fetch runs alone (not beside the
spool's commit: the scanner-to-screen path) and the held count it may show
no longer counts a scan that is done. Real spool file, real Processor, the
test's database (SQLite and PostgreSQL).
"""
from __future__ import annotations

import pytest
from helpers.daemon import wait_live

from station.config import from_dict
from station.daemon.processor import Processor
from station.daemon.spool import Spool
from station.live.status import LiveStatus
from station.scanning.service import ScanService

CONFIG = from_dict({"stations": [{"id": "in", "mode": "receive"}]})


@pytest.mark.usefixtures("world")
def test_a_scan_is_marked_done_in_the_spool_before_the_screens_are_told(db, tmp_path):
    live = LiveStatus()
    told: list[tuple[list[str] | None, dict[str, int], str, bool]] = []
    with Spool(tmp_path / "spool.db") as spool:
        processor = Processor(spool, db.Session, ScanService(CONFIG), live, stations=["in"])
        latest: list[int] = []
        # Called in the processor's thread as it tells its news: what the spool says at that moment.
        live.follow(lambda stations, read_here: told.append(
            (stations, spool.held(), spool.get(latest[-1]).state, read_here)))
        processor.start()
        try:
            for text in ("SUP:ACME", "036000291452", "SN-1", "SN-2"):
                latest.append(spool.append("in", "scanner", text.encode()).seq)
                processor.wake()
                wait_live(live, lambda: spool.get(latest[-1]).state == "done", 10, f"{text} processed")
            # A web scan is told from its request's thread, whose client waits for the answer: not read there.
            submitted = processor.submit("in", "web", "SN-3", key="web-1", user=None, timeout=10)
            assert submitted.result.accepted
        finally:
            processor.stop(timeout=5)
    news = [(held, state, read_here) for stations, held, state, read_here in told if stations == ["in"]]
    assert len(news) == 5  # one piece of news a scan, each told once
    # ... and the screens may read a scanner's in the processor's thread: it has nothing else to do
    assert news[:4] == [({}, "done", True)] * 4
    assert news[4][2] is False
