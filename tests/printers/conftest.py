"""Fixtures for the printer drivers: stand-in printers on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.printers.standin_zebra import ZebraStandIn


@pytest.fixture
def zebra() -> Iterator[ZebraStandIn]:
    standin = ZebraStandIn().start()
    yield standin
    standin.stop()
