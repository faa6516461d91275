"""Bytes from a serial scanner to lines: a pure, sans-IO framer.

Scanners end a scan with CR, LF or CRLF, and a serial read returns whatever
has arrived, so a scan (and a CRLF) can be split anywhere. A CR at the end of
one read followed by an LF at the start of the next is one terminator. Empty
lines are dropped. A pending line is also ended by a pause longer than
``idle_gap``: for scanners set without a suffix (their only way to end a
line), and, with a longer one, to recover a lost CR. The framer reads no
clock: the reader, once the port is drained, tells ``pause(seconds)`` how
long it has been since it read the last bytes (on a monotonic clock), so
bytes that waited in the kernel while the reader was held up still join the
line in progress.

Lines stay bytes: decoding (and refusing invalid UTF-8 with ``invalid_scan``)
is the station's job, so nothing a scanner sends is lost or altered here.

What is not a line yet is the framer's ``unfinished`` state, which a reader
hands over with each read's lines to be kept, and a framer resumes when a
new reader (after a kill) takes the port over: the head of a line begun, to
be joined by its rest, or ``cut``: the bytes that come next, up to the first
terminator, are the rest of a line whose middle was lost, and are dropped
rather than taken as a line of their own.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

logger = logging.getLogger(__name__)

_TERMINATOR = re.compile(rb"\r\n|\r|\n")
_START = re.compile(rb"[\r\n]")  # where the rest of a cut line ends


@dataclass(frozen=True)
class Unfinished:
    """What a framer holds that is not a line yet: ``head``, a line begun, or ``cut``, the rest of a lost one to
    drop."""

    head: bytes = b""
    cut: bool = False


class LineFramer:
    """Splits a byte stream into lines on CR, LF, CRLF or an idle gap."""

    def __init__(self, idle_gap: float | None = None, max_length: int = 4096) -> None:
        if idle_gap is not None and idle_gap <= 0:
            raise ValueError("idle_gap must be positive or None")
        if max_length < 1:
            raise ValueError("max_length must be at least 1")
        self.idle_gap = idle_gap
        self.max_length = max_length
        self._pending = bytearray()
        self._after_cr = False  # the last byte seen was a CR: an LF now is its pair
        self._cut = False  # dropping the rest of a cut line, up to its terminator
        self._dropped = 0

    @property
    def unfinished(self) -> Unfinished:
        """The state to keep beside this read's lines, for a framer after this one to resume."""
        return Unfinished(bytes(self._pending), self._cut)

    def resume(self, unfinished: Unfinished) -> None:
        """Go on from where another framer was left (its ``unfinished``): join its head, or drop a cut line's rest."""
        if unfinished.head and unfinished.cut:
            raise ValueError("a cut line has no head")
        self._pending = bytearray(unfinished.head)
        self._after_cr = False
        self._cut, self._dropped = unfinished.cut, 0

    def feed(self, data: bytes) -> list[bytes]:
        """Take the bytes of one read; return completed lines."""
        if self._cut:
            data = self._drop_rest(data)
        if not data:
            return []
        lines: list[bytes] = []
        if self._after_cr and data[:1] == b"\n":
            data = data[1:]
        self._after_cr = data[-1:] == b"\r"
        *complete, rest = _TERMINATOR.split(data)
        for part in complete:
            lines += self._append(part)
            lines += self._take_pending()
        lines += self._append(rest)
        return lines

    @property
    def pause_limit(self) -> float | None:
        """Seconds of silence that would end the pending line (or a cut line's rest); None when nothing would."""
        return self.idle_gap if self._pending or self._cut else None

    def pause(self, seconds: float) -> list[bytes]:
        """The port is drained and silent for ``seconds`` since the last bytes were read."""
        limit = self.pause_limit
        if limit is None or seconds < limit:
            return []
        if self._cut:  # the pause ended the cut line's rest: dropped, like any rest
            self._end_cut()
            return []
        return self._take_pending()

    def flush(self) -> list[bytes]:
        """Return what is pending as a line (the port is closing)."""
        self._after_cr = False
        if self._cut:
            self._end_cut()
        return self._take_pending()

    def _drop_rest(self, data: bytes) -> bytes:
        """Drop the cut line's rest from ``data``, up to its terminator; return what follows (from the terminator)."""
        end = _START.search(data)
        if end is None:
            self._dropped += len(data)
            return b""
        self._dropped += end.start()
        self._end_cut()
        return data[end.start():]

    def _end_cut(self) -> None:
        logger.warning("dropped %d byte(s): the rest of a line whose middle a stopped reader had read and lost",
                       self._dropped)
        self._cut, self._dropped = False, 0

    def _append(self, data: bytes) -> list[bytes]:
        """Buffer ``data``; pass on full ``max_length`` pieces rather than grow."""
        self._pending += data
        pieces = []
        while len(self._pending) >= self.max_length:
            pieces.append(bytes(self._pending[: self.max_length]))
            del self._pending[: self.max_length]
        if pieces:
            logger.warning("line longer than %d bytes: passing it on in pieces", self.max_length)
        return pieces

    def _take_pending(self) -> list[bytes]:
        line = bytes(self._pending)
        self._pending.clear()
        return [line] if line else []
