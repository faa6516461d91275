"""Scanner readers (threads) a test starts, each stopped at its end and checked gone."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

R = TypeVar("R")


@contextmanager
def started_readers() -> Iterator[Callable[[R], R]]:
    """A ``start(reader)`` that starts a reader and hands it back; on the way out every reader it started is
    stopped, and its thread must have ended (a reader that does not stop is a failure, not a leak)."""
    readers = []

    def start(reader: R) -> R:
        reader.start()
        readers.append(reader)
        return reader

    yield start
    for reader in readers:
        reader.stop()
        assert not reader.is_alive()
