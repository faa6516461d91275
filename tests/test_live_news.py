"""What wakes the live screens under ``station run``: news of a processed scan, for its station only.

The daemon's live status counts every change (``version``: a scan read, a
held count, a scanner plugged in) and, apart, the news a screen's event can
show (``news``): a scan processed, for its station; the database going away
or coming back; while it is away, the held counts. The change feed follows
the news, so a screen's fetch never races the scan's own processing, and a
scan at one till does not make every other till's screen read its state.
No database: the status and the feed's thread are what is tested.
"""
from __future__ import annotations

import queue

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from station.live.changes import ChangeFeed
from station.live.status import NEWS_KEPT, LiveStatus


def test_a_scan_read_or_held_while_the_database_answers_is_not_news():
    """Guards against the screens fetching a scan's state as it is read, racing its processing for the cores."""
    live = LiveStatus()
    live.set_device("till", "scanner", "serial", "connected")
    live.record_scan("till", "scanner", "SN-1")
    live.set_held("till", 1)
    assert live.version == 3  # every change still wakes a waiter on any of them
    assert live.wait_for_news(0, 0) == (0, [])
    live.set_held("till", 0)
    live.notify("till")
    assert live.wait_for_news(0, 0) == (1, ["till"])


def test_while_the_database_is_away_its_going_and_the_held_counts_are_news():
    """Guards against an offline screen showing a stale "Offline: N scans held"."""
    live = LiveStatus()
    live.set_offline(True)
    seen, stations = live.wait_for_news(0, 0)
    assert (seen, stations) == (1, None)  # every screen says offline
    live.set_held("till", 2)
    live.set_held("goods-in", 1)
    assert live.wait_for_news(seen, 0) == (3, ["goods-in", "till"])
    live.set_offline(False)
    assert live.wait_for_news(3, 0) == (4, None)


def test_a_follower_further_behind_than_the_news_kept_looks_at_every_station():
    """Guards against a slow follower missing a station whose news fell out of the kept window."""
    live = LiveStatus()
    live.notify("goods-in")
    for _ in range(NEWS_KEPT):
        live.notify("till")
    assert live.wait_for_news(0, 0) == (NEWS_KEPT + 1, None)
    assert live.wait_for_news(1, 0) == (NEWS_KEPT + 1, ["till"])
    live.notify()  # a printer's state: any station's screen may show it
    assert live.wait_for_news(NEWS_KEPT + 1, 0) == (NEWS_KEPT + 2, None)


@pytest.fixture
def feed(tmp_path):
    """A change feed following a live status, and what its listener hears."""
    engine = create_engine(f"sqlite:///{tmp_path / 'unused.db'}")
    live = LiveStatus()
    heard: queue.Queue = queue.Queue()
    feed = ChangeFeed(engine, sessionmaker(engine), live)
    feed.subscribe(heard.put)
    yield live, heard
    feed.unsubscribe(heard.put)
    live.notify()  # the feed's thread sees nobody listens and ends
    engine.dispose()


def test_the_feed_tells_the_station_of_a_processed_scan_and_nothing_of_its_reading(feed):
    """Guards against a scan at one till waking every screen, or a scan's reading waking any."""
    live, heard = feed
    live.record_scan("till", "scanner", "SN-1")
    live.set_held("till", 1)
    live.notify("till")
    assert heard.get(timeout=5) == ["till"]
    live.set_offline(True)
    assert heard.get(timeout=5) is None
