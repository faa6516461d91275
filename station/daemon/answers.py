"""The answers of scans from the web, kept for the request that waits for its scan's turn (Processor.submit).

A web or API scan that has to queue behind held scans is spooled, and its
request thread waits here until the processor has carried it out (or the
database is away: then it answers "held" at once). The answer is kept a
while for a client that sends the same scan again.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from station.domain.errors import Refusal
from station.scanning.service import ScanResult

KEEP = 1000  # answers kept for clients that ask again


@dataclass(frozen=True)
class Submitted:
    """What became of a scan from the web: its answer, or held in the spool (``held`` scans in all)."""

    result: ScanResult | None
    held: int = 0
    offline: bool = False


class Answers:
    """Spool sequence numbers someone waits on, and their answers once the processor has them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        # None: it failed; a Refusal: the request was refused (an id another scan had), and raises it
        self._results: OrderedDict[int, ScanResult | Refusal | None] = OrderedDict()
        self._awaited: set[int] = set()

    def expect(self, seq: int) -> None:
        with self._cond:
            self._awaited.add(seq)

    def give(self, seq: int, result: ScanResult | Refusal | None) -> None:
        """The processor carried ``seq`` out (None: it failed for good; a Refusal: the request is refused)."""
        with self._cond:
            if seq in self._awaited:
                self._results[seq] = result
                while len(self._results) > KEEP:
                    old, _ = self._results.popitem(last=False)
                    self._awaited.discard(old)
            self._cond.notify_all()

    def wake_all(self) -> None:
        """Something changed that waiters must look at (the database went away)."""
        with self._cond:
            self._cond.notify_all()

    def wait(self, seq: int, timeout: float, offline: Callable[[], bool], held: Callable[[], int]) -> Submitted:
        """``seq``'s answer; Submitted(None) as soon as ``offline()`` or at the timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while seq not in self._results:
                remaining = deadline - time.monotonic()
                if offline() or remaining <= 0:
                    return Submitted(None, held=held(), offline=offline())
                self._cond.wait(remaining)
            result = self._results.pop(seq)
            self._awaited.discard(seq)
        if result is None:
            raise RuntimeError(f"the held scan {seq} could not be processed (see the log)")
        if isinstance(result, Refusal):
            raise result
        return Submitted(result)
