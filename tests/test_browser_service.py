"""The service desk's screen in a real browser: the warranty's colour as Chromium paints it, live.

Debian's Chromium through Playwright against the station's own server, on
SQLite (the pages' database side is tests/test_pages_service.py on both).
Scans arrive through the scan API, as a desk's scanner would send them; the
screen, opened once, must change the banner's colour by itself: green for a
unit in warranty, red for one out of it, grey for none; a faulty unit's
warranty, on the check-out replacing it and on its serial page once it is
ours, in no colour at all.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

from helpers.api import serve_station  # noqa: E402
from helpers.browser import chromium, post_scan  # noqa: E402
from helpers.database import create_database  # noqa: E402
from helpers.shop import stock_shop  # noqa: E402

from station.config import Config, DatabaseConfig, StationConfig  # noqa: E402

expect = playwright_api.expect
# station.css: --ok-bg, --bad-bg, and the grey of no warranty.
GREEN, RED, GREY = "rgb(227, 245, 232)", "rgb(253, 230, 231)", "rgb(236, 239, 243)"
INK, NO_BACKGROUND = "rgb(27, 31, 35)", "rgba(0, 0, 0, 0)"  # --ink, and no colour behind


@pytest.fixture(scope="module")
def desk_db(tmp_path_factory):
    db = create_database("sqlite", tmp_path_factory.mktemp("desk"))
    with db.Session.begin() as s:
        stock_shop(s, [("PHONE", "SN-1"), ("PHONE", "SN-OLD"), ("CABLE", "CB-1"), ("PHONE", "SN-BROKEN"),
                       ("PHONE", "SN-SWAP")], {"JANE": ("SN-1", "SN-OLD", "CB-1", "SN-BROKEN")})
        # SN-OLD's sale long ago: its warranty ended (the movement and the serial moved together, check stays clean).
        s.execute(text("UPDATE movement SET at = '2020-01-15 10:00:00.000000' WHERE kind = 'sale' AND serial_id = "
                       "(SELECT id FROM serial_number WHERE serial = 'SN-OLD')"))
        s.execute(text("UPDATE serial_number SET warranty_until = '2022-01-15' WHERE serial = 'SN-OLD'"))
    yield db
    db.close()


@pytest.fixture(scope="module")
def server(desk_db, tmp_path_factory):
    config = Config(database=DatabaseConfig(desk_db.url), stations=(StationConfig("desk", "service"),
                                                                     StationConfig("swap", "service")))
    with serve_station(config, desk_db.engine, tmp_path_factory.mktemp("state"), threads=8) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        yield context.new_page()
        context.close()


def test_the_warranty_banner_changes_colour_live(page, server):
    """Guards the desk's screen: the last unit's warranty in green, red or grey, updated without a reload."""
    page.goto(f"{server}/stations/desk")
    expect(page.locator("#live")).to_have_class(re.compile(r"\bconnected\b"))
    page.evaluate("window.stillTheSamePage = true")
    banner = page.locator("#desk-warranty")
    for serial, state, colour, words in (("SN-1", "in_warranty", GREEN, "in warranty until"),
                                         ("SN-OLD", "out_of_warranty", RED, "out of warranty since 2022-01-15"),
                                         ("CB-1", "none", GREY, "no warranty")):
        assert post_scan(server, "desk", serial)["accepted"]
        expect(banner).to_have_attribute("data-warranty", state, timeout=2000)
        expect(banner).to_contain_text(words)
        expect(banner).to_have_css("background-color", colour)
    expect(page.locator("#document")).to_contain_text("Jane Doe")
    expect(page.locator("#mode")).to_have_text("Service desk")
    assert page.evaluate("window.stillTheSamePage") is True


def test_a_faulty_units_warranty_shows_plain_not_green(page, server):
    """Guards against a faulty unit (being replaced at the desk, then ours) showing its warranty in green as if all
    were well: on the check-out's line and on its serial page the date shows in plain ink, with no colour."""
    for scan in ("SN-BROKEN", "CMD:FINISH", "SN-BROKEN", "CMD:REPLACE", "SN-SWAP"):
        assert post_scan(server, "swap", scan)["accepted"], scan
    page.goto(f"{server}/stations/swap")
    rows = page.locator("#document table.lines tbody tr")
    broken, swap = rows.filter(has_not_text="SN-SWAP"), rows.filter(has_text="SN-SWAP")
    expect(swap).to_contain_text("replaces SN-BROKEN")
    expect(swap.locator(".warranty")).to_have_css("background-color", GREEN)  # the replacement's own cover
    expect(page.locator("#desk-warranty")).to_have_css("background-color", GREEN)
    warranty = broken.locator(".warranty")
    expect(warranty).to_contain_text("in warranty until")
    expect(warranty).to_have_css("background-color", NO_BACKGROUND)
    expect(warranty).to_have_css("color", INK)
    assert post_scan(server, "swap", "CMD:FINISH")["accepted"]
    page.goto(f"{server}/serials/SN-BROKEN")
    expect(page.locator("#status")).to_have_text("Faulty")
    warranty = page.locator("#warranty .warranty")
    expect(warranty).to_contain_text("In warranty until")
    expect(warranty).to_have_css("background-color", NO_BACKGROUND)
    expect(warranty).to_have_css("color", INK)
    expect(page.locator("#warranty")).to_contain_text("the customer's warranty is on its replacement")
