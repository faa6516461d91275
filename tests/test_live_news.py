"""What wakes the live screens under ``station run``: news of a processed scan, for its station only, told at once.

The daemon's live status counts every change (``version``: a scan read, a
held count, a scanner plugged in) for whoever waits on any of them, and
tells its followers, from the thread that made it, only the news a screen's
event can show: a scan processed, for its station; the database going away
or coming back; while it is away, the held counts. The change feed follows
it with no thread of its own, so a screen's fetch never races the scan's
own processing, and a scan at one till does not make every other till's
screen read its state. No database is read: the status and the feed are
what is tested; so are the screens' event hub and its fetches, on a real
event loop, with the state handed to its fetch.
"""
from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from station.live.changes import ChangeFeed
from station.live.status import LiveStatus
from station.live.streams import MIN_INTERVAL, Channel, EventHub, Stream


@pytest.fixture
def told():
    """A live status and the news its follower was told, in order."""
    live = LiveStatus()
    news: list[list[str] | None] = []
    live.follow(lambda stations, read_here: news.append(stations))
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

    def listener(stations, read_here):
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


# -- the screens' fetch, started from the thread that told the news (station.live.streams) -----------------------


def _fetches() -> tuple[list[Future], Callable[[], Future]]:
    started: list[Future] = []

    def fetch() -> Future:
        started.append(Future())
        return started[-1]

    return started, fetch


def test_each_change_told_replaces_the_fetch_started_before_it():
    """Guards against a screen showing a state read before the last change it was told of: the loop takes only the
    fetch that began after the last change."""
    channel = Channel("till", streams={Stream()})
    started, fetch = _fetches()
    channel.noticed(fetch)
    channel.noticed(fetch)
    assert len(started) == 2
    assert channel.take_early() is started[1]
    assert channel.take_early() is None  # taken: the next change starts the next


def test_no_fetch_is_started_within_the_interval_or_for_nobody():
    """Guards the rate limit (a burst of scans is one event per MIN_INTERVAL) and a fetch for a channel no screen
    watches; a fetch waiting from before such a change is dropped all the same."""
    channel = Channel("till", streams={Stream()})
    started, fetch = _fetches()
    channel.noticed(fetch)
    channel.published = time.monotonic()
    channel.noticed(fetch)
    assert len(started) == 1 and channel.take_early() is None
    channel.published = time.monotonic() - MIN_INTERVAL
    channel.streams.clear()
    channel.noticed(fetch)
    assert len(started) == 1 and channel.take_early() is None


class _Hub:
    """A real EventHub on a real event loop in a thread, fed by a live status; its screens' event texts queued."""

    def __init__(self, state: dict, fetched: threading.Event) -> None:
        self.live = LiveStatus()
        self.engine = create_engine("sqlite://")
        feed = ChangeFeed(self.engine, sessionmaker(self.engine), self.live)

        def fetch(station: str) -> dict:
            view = {"station": station, "version": state["version"]}
            fetched.set()
            return view

        self.hub = EventHub(feed, fetch, lambda station: {"held": 0}, max_streams=5, max_per_client=5, heartbeat=60)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-loop", daemon=True)
        self._thread.start()
        self._screens: list[tuple[Callable[[], None], asyncio.Event | None]] = []

    def open_screen(self, held: asyncio.Event | None = None) -> tuple[queue.Queue[bytes], Callable[[], None]]:
        """A screen's stream: the texts it is sent, and how it leaves. With ``held``, its send of its first event
        waits for it, as a send waits on a client's full socket."""
        bodies: queue.Queue[bytes] = queue.Queue()
        gone = asyncio.run_coroutine_threadsafe(self._future(), self.loop).result(10)

        async def receive():
            await gone
            return {"type": "http.disconnect"}

        async def send(message):
            if message.get("body"):
                bodies.put(message["body"])
                if held is not None and bodies.qsize() == 1:
                    await held.wait()

        admitted = (200, [(b"x-station-events", b"till"), (b"content-type", b"text/event-stream")], b"")
        scope = {"type": "http", "method": "GET", "client": ("127.0.0.1", 1)}
        streaming = asyncio.run_coroutine_threadsafe(self.hub.handle(scope, receive, send, admitted), self.loop)

        def leave() -> None:
            self.loop.call_soon_threadsafe(lambda: gone.done() or gone.set_result(None))
            streaming.result(10)

        self._screens.append((leave, held))
        return bodies, leave

    async def _future(self) -> asyncio.Future:
        return asyncio.get_running_loop().create_future()

    def close(self) -> None:
        for leave, held in self._screens:
            if held is not None:
                self.loop.call_soon_threadsafe(held.set)  # a send held up would never see the client go
            leave()

        async def stop():
            self.hub.close()
            await asyncio.gather(*(task for task in asyncio.all_tasks() if task is not asyncio.current_task()))

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
        self.hub.shutdown()
        self.engine.dispose()


def _hub_with_a_screen(state: dict, fetched: threading.Event):
    """A real EventHub with one screen open: the live status, the hub, its loop, the screen's texts, and the end."""
    hub = _Hub(state, fetched)
    bodies, _leave = hub.open_screen()
    return hub.live, hub.hub, hub.loop, bodies, hub.close


def _version(body: bytes) -> int:
    return json.loads(body.split(b"data: ", 1)[1])["version"]


def test_a_processed_scans_fetch_starts_without_waiting_for_the_event_loop():
    """Guards against a thread hop between a processed scan and its screens' fetch: the fetch starts from the
    processor's news even while the event loop is busy, and the screen gets the state the scan left."""
    state = {"version": 0}
    fetched = threading.Event()
    live, hub, loop, bodies, close = _hub_with_a_screen(state, fetched)
    try:
        assert _version(bodies.get(timeout=10)) == 0  # the state as the screen opens
        hub.channels["till"].published -= MIN_INTERVAL  # that event went out a scanner's pause ago
        busy, free = threading.Event(), threading.Event()
        loop.call_soon_threadsafe(lambda: (busy.set(), free.wait(10)))  # the loop held up
        assert busy.wait(10)
        fetched.clear()
        state["version"] = 1
        live.notify("till")
        assert fetched.wait(10), "the fetch waited for the event loop"
        free.set()
        assert _version(bodies.get(timeout=10)) == 1
    finally:
        close()


def test_news_the_teller_may_read_itself_is_read_in_its_thread_and_other_news_in_the_pool():
    """Guards the scanner-to-screen path (issue 22): the daemon's processor reads its scan's state for the screens
    itself, no thread hop and nothing of its own beside the read; a web request's thread, whose client waits for
    the scan's answer, leaves the read to the hub's pool."""
    state, readers = {"version": 0}, []
    fetched = threading.Event()
    hub = _Hub(state, fetched)
    bodies, _ = hub.open_screen()
    try:
        assert _version(bodies.get(timeout=10)) == 0
        channel = hub.hub.channels["till"]
        original = hub.hub.fetch
        hub.hub.fetch = lambda station: (readers.append((state["version"], threading.current_thread())),
                                         original(station))[1]
        tellers = {}
        for version, read_here in ((1, True), (2, False)):
            channel.published -= MIN_INTERVAL  # the last event went out a scanner's pause ago
            state["version"] = version
            tellers[version] = threading.Thread(target=hub.live.notify, args=("till",),
                                                kwargs={"read_here": read_here})
            tellers[version].start()
            tellers[version].join()
            assert _version(bodies.get(timeout=10)) == version
        assert [thread for version, thread in readers if version == 1] == [tellers[1]]
        pool = [thread for version, thread in readers if version == 2]
        assert pool and all(thread.name.startswith("events") for thread in pool)
    finally:
        hub.close()


def test_a_read_that_returns_late_never_stands_in_for_a_later_changes_and_never_blocks_the_loop():
    """Guards against a screen shown a state read before the last change it was told of, when two threads tell
    changes at once and the first one's read (in its own thread) returns last; and against the loop waiting on such
    a read to take the fetch it wants."""
    channel = Channel("till", streams={Stream()})
    reading, release = threading.Event(), threading.Event()
    first: Future = Future()

    def slow_read() -> Future:
        reading.set()
        release.wait(10)
        first.set_result((("state", 1, None), b"first"))
        return first

    teller = threading.Thread(target=channel.noticed, args=(slow_read,))
    teller.start()
    try:
        assert reading.wait(10)
        assert channel.take_early() is None  # at once, while the read runs: the loop fetches for itself
        later: Future = Future()
        later.set_result((("state", 2, None), b"later"))
        channel.noticed(lambda: later)
    finally:
        release.set()
        teller.join(10)
    assert first.done()
    assert channel.take_early() is later


def test_a_burst_of_news_ends_on_the_last_state():
    """Guards against a fetch started before a later change being published as the last word."""
    state = {"version": 0}
    live, _hub, _loop, bodies, close = _hub_with_a_screen(state, threading.Event())
    try:
        assert _version(bodies.get(timeout=10)) == 0
        for version in range(1, 31):
            state["version"] = version
            live.notify("till")
        seen = 0
        while seen != 30:
            seen = _version(bodies.get(timeout=10))
    finally:
        close()


def test_news_published_while_a_screen_is_sending_reaches_it_after_the_send():
    """Guards against a screen that was busy sending (its client's socket full, or just slow) when the next state
    went out: it must send that state once its send returns, not wait a heartbeat (15 s) for the next wake."""
    state = {"version": 0}
    hub, held = _Hub(state, threading.Event()), asyncio.Event()
    try:
        slow, _ = hub.open_screen(held)
        assert _version(slow.get(timeout=10)) == 0  # and its send now waits on ``held``
        quick, _ = hub.open_screen()
        assert _version(quick.get(timeout=10)) == 0
        state["version"] = 1
        hub.live.notify("till")
        assert _version(quick.get(timeout=10)) == 1  # published, while the slow screen was still sending
        hub.loop.call_soon_threadsafe(held.set)
        assert _version(slow.get(timeout=10)) == 1
    finally:
        hub.close()


def test_a_station_nobody_watches_any_more_is_let_go_and_its_next_screen_gets_the_state_now():
    """Guards against a channel whose last screen left during its rate-limit pause living on, unwoken, until its
    heartbeat (15 s): news told while nobody listened never reached it, and a screen opened then (a reload
    just after a scan) was shown the state from before that scan until the heartbeat."""
    state = {"version": 0}
    hub = _Hub(state, threading.Event())
    try:
        first, leave = hub.open_screen()
        assert _version(first.get(timeout=10)) == 0
        channel = hub.hub.channels["till"]
        channel.published = time.monotonic() + 0.2  # its last event just went out: the next look waits
        state["version"] = 1
        hub.live.notify("till")  # wakes the channel into its pause
        leave()  # and the only screen leaves during it
        ended = asyncio.run_coroutine_threadsafe(asyncio.wait_for(asyncio.shield(channel.task), 10), hub.loop)
        ended.result(15)
        assert "till" not in hub.hub.channels
        state["version"] = 2
        hub.live.notify("till")  # told nobody: no screen is open
        second, _ = hub.open_screen()
        assert _version(second.get(timeout=10)) == 2
    finally:
        hub.close()
