"""Debian's Chromium through Playwright, headless, as the browser tests open it (its own download cannot work here)."""
from __future__ import annotations

import json
import os
import urllib.request
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


def post_scan(server: str, station: str, data: str, timeout: float = 5) -> dict:
    """A scan through the JSON API of the server at ``server``, as another scanner of the station would send it."""
    request = urllib.request.Request(
        f"{server}/api/stations/{station}/scans", data=json.dumps({"data": data}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)
