"""Stations raced as threads: lined up by a barrier before each round, every answer kept, any error failing the test."""
from __future__ import annotations

import threading
from collections import Counter

from station.scanning.service import ScanService
from station.storage.retry import run_in_transaction


class StationThreads:
    """One thread a station, scanning through ``service`` on ``db``; ``run`` fails on a hung thread or any error."""

    what = "a station"  # as the failure names one that hung

    def __init__(self, db, service: ScanService, stations: list[str]):
        self.db = db
        self.service = service
        self.stations = stations
        self.barrier = threading.Barrier(len(stations))
        self.answers: list[tuple[str, str, bool, str | None]] = []  # station, scan, accepted, code
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()

    def scan(self, station: str, raw: str):
        result = run_in_transaction(self.db.Session, lambda s: self.service.process(s, station, raw, device="race"))
        with self.lock:
            self.answers.append((station, raw, result.accepted, result.code))
        return result

    def run(self, script) -> None:
        """``script(race, k, station)`` runs on each station's thread; it calls ``race.line_up()`` per round."""
        def body(k: int, station: str) -> None:
            try:
                script(self, k, station)
            except BaseException as exc:  # the test fails on any, after every thread has stopped
                self.errors.append(exc)
                self.barrier.abort()

        threads = [threading.Thread(target=body, args=(k, st)) for k, st in enumerate(self.stations)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert not any(t.is_alive() for t in threads), f"{self.what} hung"
        assert not self.errors, f"a scan raised: {self.errors[0]!r}"

    def line_up(self) -> None:
        self.barrier.wait(timeout=60)

    def codes(self) -> Counter:
        """How often each refusal code was answered."""
        return Counter(code for _, _, accepted, code in self.answers if not accepted)
