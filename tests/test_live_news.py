"""What wakes the live screens under ``station run``: news of a processed scan, for its station only, told at once.

The daemon's live status counts every change (``version``: a scan read, a
held count, a scanner plugged in) for whoever waits on any of them, and
tells its followers, from the thread that made it, only the news a screen's
event can show: a scan processed, for its station; the database going away
or coming back; while it is away, the held counts. The change feed follows
it with no thread of its own, so a screen's fetch never races the scan's
own processing, and a scan at one till does not make every other till's
screen read its state. No database is read: the status and the feed are
what is tested.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from station.live.changes import ChangeFeed
from station.live.status import LiveStatus


@pytest.fixture
def told():
    """A live status and the news its follower was told, in order."""
    live = LiveStatus()
    news: list[list[str] | None] = []
    live.follow(news.append)
    return live, news


def test_a_scan_read_or_held_while_the_database_answers_is_not_news(told):
    """Guards against the screens fetching a scan's state as it is read, racing its processing for the cores."""
    live, news = told
    live.set_device("till", "scanner", "serial", "connected")
    live.record_scan("till", "scanner", "SN-1")
    live.set_held("till", 1)
    assert live.version == 3  # every change still wakes a waiter on any of them
    assert news == []
    live.set_held("till", 0)
    live.notify("till")
    assert news == [["till"]]


def test_while_the_database_is_away_its_going_and_the_held_counts_are_news(told):
    """Guards against an offline screen showing a stale "Offline: N scans held"."""
    live, news = told
    live.set_offline(True)
    live.set_held("till", 2)
    live.set_held("till", 2)  # no change: no news
    live.set_held("goods-in", 1)
    live.set_offline(False)
    live.set_offline(False)
    assert news == [None, ["till"], ["goods-in"], None]


def test_a_printers_news_is_for_every_station(told):
    """Guards against a printer's state (paper out) reaching only one station's screen: any may show it."""
    live, news = told
    live.notify()
    assert news == [None]


def test_the_feed_tells_its_listeners_from_the_thread_that_processed_the_scan(tmp_path):
    """Guards against a thread hop (and a GIL hand-over) between the processed scan and the screens, and against
    the feed telling anyone once they stopped listening."""
    engine = create_engine(f"sqlite:///{tmp_path / 'unused.db'}")
    live = LiveStatus()
    feed = ChangeFeed(engine, sessionmaker(engine), live)
    heard: list[tuple[list[str] | None, threading.Thread]] = []

    def listener(stations):
        heard.append((stations, threading.current_thread()))

    feed.subscribe(listener)
    processor = threading.Thread(target=lambda: (live.record_scan("till", "scanner", "SN-1"), live.notify("till")))
    processor.start()
    processor.join()
    assert heard == [(["till"], processor)]
    feed.unsubscribe(listener)
    live.notify("till")
    assert len(heard) == 1
    engine.dispose()
