"""Fixtures for the printer drivers: stand-in printers on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.printers.standin_zebra import ZebraStandIn


@pytest.fixture
def zebra() -> Iterator[ZebraStandIn]:
    with ZebraStandIn() as standin:
        yield standin
