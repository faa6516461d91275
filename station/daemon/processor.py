"""Spooled scans into the main database: oldest first, each once, through outages.

Theory of operation: one thread takes the oldest pending scans from the
spool and processes each with ``ScanService.process`` in a transaction of
its own, under the scan's idempotency key, then marks it done in the spool.
A backlog (more than one scan pending: held through an outage, or arrived
while one was in hand) is drained in batches: up to ``batch`` scans, in
spool order, each processed as on its own (a refusal leaving nothing but
its answer and its scan-log row under its own key) but all in one transaction, one commit and
one spool write for all of them, so that a backlog drains at many times
the speed it was scanned. A refusal is an answer like any other and stays
in the batch; anything a scan raises instead (a station no longer
configured, a key reused) rolls the whole batch back, and its scans are
then processed one by one as below, in the same order.
Deadlocks and serialization failures are retried at once (``station.storage.retry``).
When the database cannot be reached (connect or commit fails), the scan stays
pending and so does everything after it: the thread backs off (0.5 s, doubling
to 5 s), tells the live status it is offline and how many scans each station
holds, and tries again; nothing is dropped or reordered. Any other error is
a bug or a scan that can never succeed (a station no longer configured): it
is retried a few times, then marked failed in the spool and logged, so that
one bad row cannot stop a station for good.

Its own upkeep (the scanners' states written to the database once a second
while they change, the spool pruned and checkpointed) runs between scans,
``QUIET`` after the last one, never beside a scan's screens fetching it.

Scans from the web page and the API take the same path (:meth:`Processor.submit`,
called from a web request's thread), so none overtakes a scanner's held scan:
while nothing is held and the database answers, it is carried out at once
under the lock each spooled scan is processed under (nothing can come between);
otherwise it is spooled behind the others, and the request waits a moment for
its turn, or answers that it is held.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session, sessionmaker

from station.domain.errors import Conflict, StationError
from station.domain.models import DeviceStatus
from station.domain.wording import plural
from station.live.status import LiveStatus
from station.scanning import scan_log
from station.scanning.service import ScanResult, ScanService
from station.storage.retry import is_retryable, is_unreachable, run_in_transaction

from .answers import Answers, Submitted
from .spool import Spool, SpooledScan

log = logging.getLogger(__name__)

PRUNE_EVERY = 200  # finished scans between two prunes of the spool
# The processor's upkeep (the scanners' states written, the spool pruned and checkpointed) waits this long after
# a scan, so that it never runs beside that scan's screens reading it (their fetch starts as the scan commits): it
# falls between scans; only scans coming closer together than this, for a whole flush interval more, let it run
# beside them.
QUIET = 0.02


def outcome_of(result) -> str:
    """A short outcome for the spool and the log: ``accepted`` or ``refused <code>``."""
    text = "accepted" if result.accepted else f"refused {result.code}"
    return f"replayed {text}" if result.replayed else text


class Processor(threading.Thread):
    """The one thread that carries spooled scans out against the main database."""

    def __init__(
        self,
        spool: Spool,
        Session: sessionmaker[Session],
        service: ScanService,
        live: LiveStatus,
        *,
        stations: Iterable[str] = (),
        backoff: tuple[float, float] = (0.5, 5.0),
        batch: int = 50,
        max_attempts: int = 3,
        device_flush_interval: float = 1.0,
        prepare: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="scan-processor", daemon=True)
        self.spool = spool
        self.Session = Session
        self.service = service
        self.live = live
        self.stations = tuple(stations)
        self.backoff = backoff
        self.batch = batch
        self.max_attempts = max_attempts
        self.device_flush_interval = device_flush_interval
        self._prepare = prepare  # database work owed before the first scan (a deferred migration)
        self.offline = False
        self._delay = backoff[0]
        self._retry_at = 0.0  # no database work before this (monotonic) time
        self._stop_event = threading.Event()
        self._wake = threading.Event()
        self._devices: set[tuple[str, str]] = set()  # devices whose DeviceStatus row to keep
        self._devices_lock = threading.Lock()
        self._devices_dirty = False
        self._next_device_flush = 0.0
        self._finished_since_prune = 0
        self._last_done = 0.0  # when the last scan was done (monotonic)
        # One scan at a time, in spool order: the processor's and the web's (submit).
        self._order = threading.Lock()
        self._answers = Answers()

    # -- called from other threads ---------------------------------------
    def wake(self) -> None:
        """A scan was spooled: look at the spool now."""
        self._wake.set()

    def device_changed(self, station: str, device: str) -> None:
        """A scanner's state changed: write its DeviceStatus row when the database allows."""
        with self._devices_lock:
            self._devices.add((station, device))
        self._devices_dirty = True
        self._wake.set()

    def submit(self, station: str, device: str, raw: str, *, key: str | None, user: str | None,
               timeout: float) -> Submitted:
        """A scan from the web, carried out in order with the scanners' (from a request's thread).

        At once when nothing is held and the database answers; else spooled
        (with ``key``, so a client sending it again finds it) and waited for
        until ``timeout``. Raises what processing raises for a scan that can
        never succeed, and Conflict ``id_reused`` for a key the station has
        (held or processed) with other data; an outage is an answer (held),
        not an error.
        """
        with self._order:
            if not self.offline and not self.spool.has_pending():
                try:
                    result = self._run(station, device, raw, key=key, user=user)
                except Exception as exc:
                    if not (is_unreachable(exc) or is_retryable(exc)):
                        raise
                    log.warning("database unreachable for a web scan of station %s: holding it", station)
                else:
                    self.live.notify(station)
                    return Submitted(result)
            data = raw.encode("utf-8")
            scan = self.spool.append(station, device, data, key=key, user=user)
        if scan.state != "pending":  # sent again after it was done: the scan log answers as it did (or id_reused)
            with self._order:
                return Submitted(self._run(station, device, raw, key=self.spool.key_of(scan), user=user))
        if scan.raw != data:  # the key is held here for another scan
            raise scan_log.id_reused(station, key)
        self._answers.expect(scan.seq)
        self._publish_held()
        self.wake()
        return self._answers.wait(scan.seq, timeout, lambda: self.offline, lambda: sum(self.spool.held().values()))

    def _run(self, station: str, device: str, raw: bytes | str, *, key: str | None, user: str | None) -> ScanResult:
        # Deadlocks and serialization failures are run again at once, unseen (station.storage.retry).
        return run_in_transaction(self.Session, lambda session: self.service.process(
            session, station, raw, device=device, key=key, user=user))

    def stop(self, timeout: float | None = 1.0) -> None:
        """Finish the scan in hand, then end; wait up to ``timeout``."""
        self._stop_event.set()
        self._wake.set()
        if timeout is not None and self.is_alive():
            self.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    # -- the loop ----------------------------------------------------------
    def run(self) -> None:
        self._publish_held()
        while not self.stopping:
            try:
                self._step()
            except Exception:  # a bug here must not end processing for good
                log.exception("scan processor failed; going on")
                self._pause(offline=False)
        if self._devices_dirty:
            # The readers' last word ("stopped"...) goes to the table before the process ends, so that
            # another process's /devices is not left showing a scanner as connected.
            self._flush_devices()
        log.debug("scan processor stopped")

    def _step(self) -> None:
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            self._wait(wait)
            return
        if self._prepare is not None:
            try:
                self._prepare()
            except Exception as exc:
                self._failed_prepare(exc)
                return
            self._prepare = None
            self._back_online()
        scans = self.spool.pending(self.batch)
        if scans:
            batched = self._process_batch(scans) if len(scans) > 1 else False
            if batched is False:
                for scan in scans:
                    if self.stopping or not self._process(scan):
                        break
            self._publish_held()
            return
        self._publish_held()
        held_back = self._upkeep_held_back()
        if held_back > 0:
            self._wait(held_back)  # a scan came meanwhile: processed first, the upkeep after it
            return
        if self._devices_dirty and time.monotonic() >= self._next_device_flush:
            self._flush_devices()
        if self._finished_since_prune >= PRUNE_EVERY:
            self._finished_since_prune = 0
            self.spool.prune()
            self.spool.checkpoint()  # never in a reader's commit (Spool): here, between scans
        self._wait(self.device_flush_interval if self._devices_dirty else None)

    def _upkeep_held_back(self) -> float:
        """How much longer the due upkeep waits: until ``QUIET`` after the last scan done (0: run it now; also when
        nothing is due, or when it is a whole flush interval late or two prunes' worth of scans are done)."""
        now = time.monotonic()
        devices_due = self._devices_dirty and now >= self._next_device_flush
        if not devices_due and self._finished_since_prune < PRUNE_EVERY:
            return 0.0
        late = devices_due and now >= self._next_device_flush + self.device_flush_interval
        if late or self._finished_since_prune >= 2 * PRUNE_EVERY:
            return 0.0
        return max(0.0, self._last_done + QUIET - now)

    def _wait(self, timeout: float | None) -> None:
        """Sleep until woken, stopped or ``timeout``; keep the held counts current meanwhile."""
        if self._wake.wait(timeout):
            self._wake.clear()
            if self.offline:
                self._publish_held()

    def _process_batch(self, scans: list[SpooledScan]) -> bool | None:
        """A backlog's scans in one transaction, in order, each with its own answer; then all marked done at once.

        True when all were processed; None when the database is away or busy (all stay pending, after a back-off);
        False, having committed nothing, when one of them raised: the caller then processes them one by one.
        """
        with self._order:
            try:
                results = run_in_transaction(self.Session, lambda session: [
                    self.service.process(session, scan.station, scan.raw, device=scan.device,
                                         key=self.spool.key_of(scan), user=scan.user) for scan in scans])
            except Exception as exc:
                if self._must_wait(exc):
                    return None
                log.debug("a batch of %d held scans raised (%r): processing them one by one", len(scans), exc)
                return False
            self.spool.mark_done_many([(scan.seq, outcome_of(result))
                                       for scan, result in zip(scans, results, strict=True)])
        self._back_online()
        for scan, result in zip(scans, results, strict=True):
            self._answers.give(scan.seq, result)
            if (scan.station, scan.device) in self._devices:
                self._devices_dirty = True
            if result.replayed:
                log.info("scan station=%s device=%s outcome=%s (processed before a restart; not again)",
                         scan.station, scan.device, outcome_of(result))
        self._finished_since_prune += len(scans)
        for station in sorted({scan.station for scan in scans}):
            self.live.notify(station, read_here=True)
        self._last_done = time.monotonic()
        return True

    def _process(self, scan: SpooledScan) -> bool:
        """Process one scan; False when it stays pending (the database is away, or an error)."""
        committed = False
        try:
            with self._order:
                try:
                    result = self._run(scan.station, scan.device, scan.raw, key=self.spool.key_of(scan),
                                       user=scan.user)
                except Conflict as refusal:  # its client's key was another scan's (id_reused): its answer
                    self.spool.mark_done(scan.seq, f"refused {refusal.code}")
                    log.info("scan station=%s device=%s outcome=refused code=%s seq=%d message=%r", scan.station,
                             scan.device, refusal.code, scan.seq, refusal.message)
                    self._answers.give(scan.seq, refusal)
                    self._finished_since_prune += 1
                    self._back_online()  # the database answered
                    return True
                except Exception as exc:
                    failed = exc
                else:
                    failed, committed = None, True
                    outcome = outcome_of(result)
                    self.spool.mark_done(scan.seq, outcome)
        finally:
            if committed:
                # Committed and marked: the screens are told now (even if the mark failed), and their fetch runs
                # here, alone: not beside the spool's commit nor this thread's next steps, and out of the order
                # lock, which a web scan may be waiting for. It finds no held scan that is done.
                self.live.notify(scan.station, read_here=True)
        if failed is not None:
            return self._failed(scan, failed)
        self._back_online()
        self._answers.give(scan.seq, result)
        self._finished_since_prune += 1
        self._last_done = time.monotonic()
        if (scan.station, scan.device) in self._devices:
            self._devices_dirty = True
        if result.replayed:
            log.info("scan station=%s device=%s outcome=%s (processed before a restart; not again)",
                     scan.station, scan.device, outcome)
        return True

    def _must_wait(self, exc: Exception) -> bool:
        """True when ``exc`` says wait and try again (the database is busy, or away: offline), after a back-off."""
        if is_retryable(exc):  # contention that outlasted run_in_transaction's attempts: not an outage
            log.warning("database busy, trying again shortly: %s", str(exc).splitlines()[0])
            self._pause(offline=False)
            return True
        if not is_unreachable(exc):
            return False
        if not self.offline:
            log.warning("database unreachable, holding scans: %s", str(exc).splitlines()[0])
        self._pause(offline=True)
        return True

    def _failed_prepare(self, exc: Exception) -> None:
        if not self._must_wait(exc):
            log.exception("preparing the database failed; retrying")
            self._pause(offline=False)

    def _failed(self, scan: SpooledScan, exc: Exception) -> bool:
        if self._must_wait(exc):
            return False
        attempts = self.spool.record_attempt(scan.seq)
        if isinstance(exc, StationError) or attempts >= self.max_attempts:
            log.error("scan station=%s device=%s outcome=failed seq=%d after %s: %r",
                      scan.station, scan.device, scan.seq, plural(attempts, "attempt"), exc)
            self.spool.mark_failed(scan.seq, f"failed: {exc!r}"[:500])
            self._finished_since_prune += 1
            self._answers.give(scan.seq, None)
            return True
        log.exception("scan seq=%d of station %s failed (attempt %d); retrying", scan.seq, scan.station, attempts)
        self._pause(offline=False)
        return False

    def _pause(self, *, offline: bool) -> None:
        """No database work for the current back-off delay, which then doubles (to the maximum)."""
        self._retry_at = time.monotonic() + self._delay
        self._delay = min(self._delay * 2, self.backoff[1])
        if offline:
            self.offline = True
            self._publish_held()
            self.live.set_offline(True)
            self._answers.wake_all()  # web scans waiting for their turn answer "held" now

    def _back_online(self) -> None:
        self._delay = self.backoff[0]
        if self.offline:
            self.offline = False
            log.info("database reachable again; processing the held scans in order")
            self.live.set_offline(False)

    def _publish_held(self) -> None:
        held = self.spool.held()
        for station in set(self.stations) | set(held):
            self.live.set_held(station, held.get(station, 0))

    def _flush_devices(self) -> None:
        """Best effort: the scanners' states and backlogs into DeviceStatus, for other processes' pages."""
        self._devices_dirty = False
        self._next_device_flush = time.monotonic() + self.device_flush_interval
        backlog = self.spool.held_by_device()
        states = {(d.station, d.device): d for d in self.live.devices()}
        with self._devices_lock:
            mine = [states[key] for key in sorted(self._devices) if key in states]
        try:
            with self.Session.begin() as session:
                for d in mine:
                    row = session.get(DeviceStatus, (d.station, d.device)) or DeviceStatus(station=d.station,
                                                                                            device=d.device)
                    row.kind, row.state = d.kind, d.state
                    row.last_scan_at, row.last_scan = d.last_scan_at, d.last_scan
                    row.backlog = backlog.get((d.station, d.device), 0)
                    session.add(row)
        except Exception as exc:
            self._devices_dirty = True
            if not self._must_wait(exc):
                log.warning("could not record scanner states in the database: %r", exc)
            return
        self._back_online()
