"""Live events served from the event loop: a waiting screen costs a socket and a small coroutine.

Theory of operation. ``GET /api/stations/<station>/events`` first goes
through the Flask app like any request (bridge.py): its guard, the
unknown-station 404, the security headers, JSON errors, all exactly as for
every other URL. The view answers a short marker (``EVENTS_MARKER``)
instead of a body; this module takes it from there:

- Admission: at most ``max_streams`` streams in all (503 ``too_many_streams``
  beyond) and ``max_streams_per_client`` from one client address (429
  ``too_many_streams_from_client``). A trusted client (loopback with a local
  Host header, as web.security decides: the station's own screen) is counted
  in the total only.
- One channel per station with open streams. It fetches the station's state
  once per change (``fetch``, handed in by the web app: a short session of
  its own), in a small thread pool, whatever the number of screens, and
  hands the same event to all of them; a burst of changes within
  ``MIN_INTERVAL`` becomes one event.
  It learns of changes from the app's ChangeFeed (changes.py), whose thread
  calls back into the loop with ``call_soon_threadsafe``; it also looks again
  every heartbeat, so a database that went away quietly is still noticed.
  The fetch a change calls for starts at once, from the feed's thread
  (``Channel.noticed``: the change is committed by then), before the loop
  is woken rather than after: the loop then takes that fetch instead of
  starting one. When the thread telling the change may read it itself
  (``read_here``: the daemon's processor after a scanner's scan, which has
  nothing else to do), the fetch runs right there: no thread hop between a
  scan's commit and its screens, and nothing of the teller's running beside
  it (issue 22, at 1,000,000 serials, three pairs: scanner line to screen
  p50 6.2-6.5 -> 5.6-6.0 ms, p99 8.9-9.2 -> 7.6-8.5 ms). Otherwise it goes to the
  hub's small pool: a web request's thread has a client waiting on it. A
  change a fetch may have missed (one told after it started) is fetched
  again, as one that comes while the loop's own fetch runs.
- Each stream sends the current state first, then every new one (``id:`` is
  the station's version), ``event: offline`` while the database is away, and
  a comment line after a heartbeat without news, so proxies keep it open. It
  ends when the client goes away or the server stops.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.exc import OperationalError

from .bridge import Headers, send_response
from .changes import ChangeFeed

log = logging.getLogger(__name__)

# What the events view answers instead of a body (the hub takes them off the answer it passes on).
EVENTS_MARKER = "X-Station-Events"  # the admitted station
TRUST_MARKER = "X-Station-Trusted"  # 1: the station's own screen (web.security), not capped per client

HEARTBEAT = 15.0  # seconds; the web app's STATION_SSE_HEARTBEAT overrides it (tests)
# At most one event per station this often (the first of a burst at once): screens cannot show more, and
# a burst of scans must not make the loop write to every screen for every scan (500 screens: 10 ms each).
MIN_INTERVAL = 0.05
_DROPPED = {b"content-length", EVENTS_MARKER.lower().encode(), TRUST_MARKER.lower().encode()}


NEWS, BEAT, END = "news", "beat", "end"


class Stream:
    """One open stream: its task sleeps on ``wakeup``, which the channel, the client or the server resolves.

    A wake that comes while the task is not asleep (it is sending the last event, which can wait on the
    client's socket) is kept in ``missed`` and ends the next wait at once: else news published during a send
    would wait for the next heartbeat (15 s) to reach that screen.
    """

    __slots__ = ("wakeup", "missed")

    def __init__(self) -> None:
        self.wakeup: asyncio.Future | None = None
        self.missed: str | None = None

    def wake(self, reason: str) -> None:
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(reason)
        elif self.missed != END:  # the end is never overridden
            self.missed = reason

    async def wait(self) -> str:
        if self.missed is not None:
            reason, self.missed = self.missed, None
            return reason
        self.wakeup = asyncio.get_running_loop().create_future()
        try:
            return await self.wakeup
        finally:
            self.wakeup = None


Event = tuple[tuple, bytes]  # what a fetch gives: the event's key and its text


@dataclass
class Channel:
    """One station's latest event, shared by every stream of that station.

    ``early`` is a fetch started in the feed's thread as a change was told (``noticed``), for the loop to take
    instead of starting one; each change told replaces it, so the one taken began after the last change told.
    """

    station: str
    key: tuple | None = None  # ("state", version) or ("offline", held): what the last event said
    text: bytes = b""
    streams: set[Stream] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None
    published: float = -MIN_INTERVAL  # when the last event went out (time.monotonic(), read in either thread)
    early: Future[Event] | None = None
    told: int = 0  # changes told (noticed), so that a fetch that returns late never replaces a later one's
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, key: tuple, text: bytes, at: float) -> None:
        self.key, self.text, self.published = key, text, at
        self.tell(NEWS)

    def tell(self, reason: str) -> None:
        for stream in self.streams:
            stream.wake(reason)

    def noticed(self, fetch: Callable[[], Future[Event]]) -> None:
        """A change, told in the feed's thread (committed): start its fetch now with ``fetch``, in place of any
        fetch started before it (that one may have read the state before this change); none while an event went
        out less than ``MIN_INTERVAL`` ago (the loop fetches once the interval is over) or nobody watches.

        ``fetch`` may read the state before it returns (read_here), outside the lock, so that the loop's
        ``take_early`` never waits on a read: a fetch for a change told meanwhile (from another thread) then
        stands in its place, whichever of the two returns first."""
        with self.lock:
            self.told += 1
            mine = self.told
            due = time.monotonic() >= self.published + MIN_INTERVAL
            self.early = None
            if not (due and self.streams):
                return
        started = fetch()
        with self.lock:
            if self.told == mine:  # no change told since: this is the fetch the loop must take
                self.early = started

    def take_early(self) -> Future[Event] | None:
        """The fetch started since the last change was told, if any (else the loop starts one)."""
        with self.lock:
            early, self.early = self.early, None
            return early


def _json_error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class EventHub:
    """Every open event stream of one app, their limits, and one channel per watched station.

    ``fetch(station)`` reads a station's state as the API gives it (raising OperationalError while the
    database is away); ``offline(station)`` is the answer while it is away ("Offline: N scans held").
    """

    def __init__(self, feed: ChangeFeed, fetch: Callable[[str], dict[str, Any]],
                 offline: Callable[[str], dict[str, Any]], *, max_streams: int, max_per_client: int,
                 heartbeat: float = HEARTBEAT) -> None:
        self.feed = feed
        self.fetch = fetch
        self.offline = offline
        self.heartbeat = heartbeat
        self.max_streams = max_streams
        self.max_per_client = max_per_client
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="events")
        self.channels: dict[str, Channel] = {}
        self._streams: set[Stream] = set()
        self.by_client: Counter[str] = Counter()
        self.total = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed: asyncio.Future | None = None
        self._listener: Callable[[list[str] | None], None] | None = None

    # -- admission ---------------------------------------------------------------
    def refusal(self, client: str, trusted: bool) -> tuple[int, bytes] | None:
        """Why this client may not open one more stream now (status, JSON body), or None."""
        if self.total >= self.max_streams:
            return 503, _json_error("too_many_streams", (
                f"This station already serves {self.max_streams} live screens, the most it is set to: "
                "close one, or raise [web] max_streams."))
        if not trusted and self.by_client[client] >= self.max_per_client:
            return 429, _json_error("too_many_streams_from_client", (
                f"This machine already has {self.max_per_client} live screens open here, the most one machine "
                "may: close one, or raise [web] max_streams_per_client."))
        return None

    async def handle(self, scope: dict[str, Any], receive: Callable, send: Callable,
                     admitted: tuple[int, Headers, bytes]) -> None:
        """Serve the app's answer to an events request: the stream when the app admitted it, else that answer."""
        status, headers, body = admitted
        marks = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers}
        station = marks.get(EVENTS_MARKER.lower())
        if status != 200 or station is None:
            await send_response(send, status, headers, body, head=scope["method"] == "HEAD")
            return
        kept = [(k, v) for k, v in headers if k not in _DROPPED]
        client = (scope.get("client") or ("?", 0))[0]
        refused = self.refusal(client, marks.get(TRUST_MARKER.lower()) == "1")
        if refused is not None:
            code, payload = refused
            json_headers = [(k, v) for k, v in kept if k not in (b"content-type", b"cache-control")]
            json_headers += [(b"content-type", b"application/json"), (b"retry-after", b"10")]
            log.warning("station events: refused a stream of %s to %s (%s open in all)", station, client, self.total)
            await send_response(send, code, json_headers, payload)
            return
        if scope["method"] == "HEAD":
            await send_response(send, 200, kept, b"", head=True)
            return
        await self._stream(station, client, kept, receive, send)

    # -- one stream --------------------------------------------------------------
    async def _stream(self, station: str, client: str, headers: Headers, receive: Callable, send: Callable) -> None:
        self._start()
        me = Stream()
        self.total += 1
        self.by_client[client] += 1
        channel = self._channel(station)
        channel.streams.add(me)
        gone = asyncio.ensure_future(_disconnected(receive))
        gone.add_done_callback(lambda _: me.wake(END))
        self._streams.add(me)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            sent = None
            reason = NEWS
            while reason != END and not gone.done() and not self._closed.done():
                if channel.key is not None and channel.key != sent:
                    sent = channel.key
                    await send({"type": "http.response.body", "body": channel.text, "more_body": True})
                elif reason == BEAT:
                    # Quiet for a heartbeat: a comment keeps proxies from closing the stream.
                    await send({"type": "http.response.body", "body": b": heartbeat\n\n", "more_body": True})
                reason = await me.wait()
            if not gone.done():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            gone.cancel()
            self._streams.discard(me)
            channel.streams.discard(me)
            self.total -= 1
            self.by_client[client] -= 1
            if self.by_client[client] <= 0:
                del self.by_client[client]
            if not channel.streams:
                channel.wake.set()  # its task sees nobody is left and ends
            if self.total == 0 and self._listener is not None:
                self.feed.unsubscribe(self._listener)
                self._listener = None

    # -- channels ----------------------------------------------------------------
    def _start(self) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._closed = self._loop.create_future()
        if self._listener is None:
            loop = self._loop

            def listener(stations: list[str] | None, read_here: bool) -> None:  # called in the feed's thread
                self._prefetch(stations, read_here)
                loop.call_soon_threadsafe(self._changed, stations)

            self._listener = listener
            # Not waiting for the feed to listen: each channel fetches its state at once anyway.
            self.feed.subscribe(listener, wait=False)
            for channel in self.channels.values():  # one still ending heard nothing while nobody listened
                channel.wake.set()

    def _prefetch(self, stations: list[str] | None, read_here: bool) -> None:
        """In the feed's thread: start each changed channel's fetch now (Channel.noticed), in this very thread
        with ``read_here`` and named stations, else in the pool."""
        here = read_here and stations is not None
        for name in list(self.channels) if stations is None else stations:
            channel = self.channels.get(name)
            if channel is not None:
                try:
                    channel.noticed(lambda name=name: self._read_here(name) if here else
                                    self.pool.submit(self._event, name))
                except RuntimeError:  # the pool is shut down: the server is stopping
                    return

    def _read_here(self, station: str) -> Future[Event]:
        """The station's event read in the calling thread, as a done future (as the pool's would be)."""
        read: Future[Event] = Future()
        try:
            read.set_result(self._event(station))
        except Exception as exc:  # the loop's wrap_future raises it there, as a pool fetch's failure
            read.set_exception(exc)
        return read

    def _changed(self, stations: list[str] | None) -> None:
        names = self.channels if stations is None else stations
        for name in names:
            channel = self.channels.get(name)
            if channel is not None:
                channel.wake.set()

    def _channel(self, station: str) -> Channel:
        channel = self.channels.get(station)
        if channel is None:
            channel = self.channels[station] = Channel(station)
            channel.task = asyncio.ensure_future(self._follow(channel))
        return channel

    async def _follow(self, channel: Channel) -> None:
        """Fetch the station's state on each change (and each heartbeat) while it has streams."""
        loop = asyncio.get_running_loop()
        try:
            quiet = False  # the last look found nothing new
            while channel.streams and not self._closed.done():
                early = channel.published + MIN_INTERVAL - time.monotonic()
                if early > 0:
                    await asyncio.sleep(early)  # a rate limit: news within the interval comes in one event
                    continue  # and look again at who is left: a screen that left meanwhile woke nobody
                channel.wake.clear()
                started = channel.take_early()
                if started is not None:
                    key, text = await asyncio.wrap_future(started)
                else:
                    key, text = await loop.run_in_executor(self.pool, self._event, channel.station)
                if key != channel.key:
                    channel.publish(key, text, time.monotonic())
                elif quiet:
                    channel.tell(BEAT)
                if channel.wake.is_set():
                    quiet = False
                    continue  # a change came while fetching: look again
                try:
                    await asyncio.wait_for(channel.wake.wait(), self.heartbeat)
                    quiet = False
                except TimeoutError:
                    quiet = True
        except Exception:
            log.exception("station events: following station %s failed", channel.station)
        finally:
            if self.channels.get(channel.station) is channel:
                del self.channels[channel.station]
            channel.tell(END)  # streams still on it (the server is stopping) end

    def _event(self, station: str) -> tuple[tuple, bytes]:
        """The station's state as one event (in a pool thread)."""
        try:
            view = self.fetch(station)
        except OperationalError:
            offline = self.offline(station)
            return ("offline", offline["held"]), f"event: offline\ndata: {json.dumps(offline)}\n\n".encode()
        # The station's printer changes without a scan (paper out, labels printed): that is news too.
        printer = (view.get("printer") or {}).get("sentence")
        version = view.get("version", 0)
        return ("state", version, printer), b"id: %d\ndata: %s\n\n" % (version, orjson.dumps(view))

    # -- the end -----------------------------------------------------------------
    def close(self) -> None:
        """End every stream (in the loop's thread): the server is stopping."""
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)
        for stream in list(self._streams):
            stream.wake(END)
        for channel in list(self.channels.values()):
            channel.wake.set()
        if self._listener is not None:
            self.feed.unsubscribe(self._listener)
            self._listener = None

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


async def _disconnected(receive: Callable) -> None:
    """Returns once the client has gone away."""
    while (await receive())["type"] != "http.disconnect":
        pass
