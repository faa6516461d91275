"""Debian's Chromium through Playwright, headless, as the browser tests open it (its own download cannot work here)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = os.environ.get("STATION_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def require_chromium() -> None:
    """Skip the test, with the reason, where Debian's Chromium is not installed."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")


@contextmanager
def chromium() -> Iterator:
    """A running headless Chromium (a Playwright Browser), closed on the way out."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
