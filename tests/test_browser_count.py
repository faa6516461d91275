"""The count screen in real headless Chromium (SPEC 3c "Count", SPEC 5 "Pages"; issue 23): usable from 3 m.

A station counting a location shows counted against expected in large
type, the missing list shrinking as units are scanned, a repeat scan
flashing "already counted", and a unit from elsewhere saying where it was;
with no count open, none of it.

Every step is a real scan through the API, so the screen changes live,
through its event stream: the stock comes in on a receipt with put-away
``LOC:`` scans, then the station counts (``CMD:COUNT``, ``LOC:A``, serials).
What the screen reads is the station view's ``document.count``
(CountProgress: expected, counted, missing, missing_total, last, serial,
from), made by the count scanning itself.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

from helpers.api import serve_station  # noqa: E402
from helpers.browser import chromium, post_scan  # noqa: E402
from helpers.database import create_database  # noqa: E402
from helpers.places import add_location  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from station.config import Config, DatabaseConfig, StationConfig  # noqa: E402
from station.domain import catalogue  # noqa: E402
from station.domain.models import Document, DocumentLine, SerialNumber  # noqa: E402

expect = playwright_api.expect
STATION = "shelf"
GTIN = "09501101020917"
ADDED = "SN-<b>8</b>"  # a serial of ours, out of stock: counted, it will be added (and its text stays text)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A station's web server on a SQLite file: MAIN with aisle A (bin A-03 under it) and the shop floor."""
    tmp = tmp_path_factory.mktemp("count")
    db = create_database("sqlite", tmp)
    with db.Session.begin() as s:
        add_location(s, "A", "Aisle A", "MAIN")
        add_location(s, "A-03", "Aisle A, bin 3", "A")
        add_location(s, "FLOOR", "Shop floor", "MAIN")
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        catalogue.create_product(s, "WID-1", "Widget", barcodes=[GTIN])
    config = Config(database=DatabaseConfig(db.url), stations=(StationConfig(STATION, "receive"),))
    try:
        with serve_station(config, db.engine, tmp) as url:
            yield SimpleNamespace(url=url, db=db)
    finally:
        db.close()


def put_away(server, reference: str) -> None:
    """Each serial of the posted receipt ``reference`` where its put-away LOC: scan sent it (its line's location).

    Posting on this branch keeps In Stock but not yet the serial's location (another branch's); this writes what
    that posting will materialise, and nothing else."""
    with server.db.Session.begin() as s:
        lines = s.execute(select(DocumentLine.serial, DocumentLine.location_id).join(Document)
                          .where(Document.reference == reference, DocumentLine.serial.is_not(None))).all()
        for serial, location_id in lines:
            s.execute(update(SerialNumber).where(SerialNumber.serial == serial).values(location_id=location_id))


@pytest.fixture
def page(server):
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 800, "height": 480})
        tab = context.new_page()
        yield tab
        context.close()


def px(page, selector: str) -> float:
    return page.eval_on_selector(selector, "el => parseFloat(getComputedStyle(el).fontSize)")


def test_the_count_screen_counts_down_the_missing_flashes_a_repeat_and_says_where_a_unit_was(page, server,
                                                                                             tmp_path):
    """Guards issue 23's count screen at 800x480, driven by real count scans: large counted/expected, the missing
    list shrinking with each scan, live; "already counted" flashing on a repeat; "it was at FLOOR" for a unit
    recorded elsewhere; "will be added" for one not in stock, its serial shown as text; nothing without a count."""
    # An open document, not a count: no count on the screen.
    assert post_scan(server.url, STATION, "SUP:ACME")["accepted"]
    page.goto(f"{server.url}/stations/{STATION}")
    expect(page.locator("#live")).to_have_class(re.compile(r"\bconnected\b"))
    expect(page.locator("#count")).to_be_hidden()
    assert page.locator("#count-missing").count() == 0

    # The stock: SN-1 and SN-2 in aisle A, SN-3 in its bin A-03, SN-9 on the floor, put away while receiving.
    for data in (GTIN, "LOC:A", "SN-1", "SN-2", "LOC:A-03", "SN-3", "LOC:FLOOR", "SN-9", ADDED):
        assert post_scan(server.url, STATION, data)["accepted"], data
    posted = post_scan(server.url, STATION, "CMD:FINISH")
    assert posted["accepted"], posted["message"]
    put_away(server, posted["document"]["reference"])
    with server.db.Session.begin() as s:  # ADDED went out of stock since (an adjustment, say)
        s.execute(update(SerialNumber).where(SerialNumber.serial == ADDED).values(in_stock=False, location_id=None))

    assert post_scan(server.url, STATION, "CMD:COUNT")["accepted"]
    opened = post_scan(server.url, STATION, "LOC:A")  # aisle A and everything under it: SN-1, SN-2, SN-3 expected
    assert opened["accepted"] and opened["document"]["count"]["expected"] == 3, opened["message"]
    expect(page.locator("#count")).to_be_visible()
    expect(page.locator("#count-counted")).to_have_text("0")
    expect(page.locator("#count-expected")).to_have_text("3")
    expect(page.locator("#count-missing-count")).to_have_text("3")
    expect(page.locator("#count-missing li")).to_have_text(["SN-1", "SN-2", "SN-3"])
    assert px(page, "#count-counted") >= 3 * px(page, "#scan"), "counted is not large on an 800x480 screen"
    assert px(page, "#count-expected") >= 3 * px(page, "#scan"), "expected is not large on an 800x480 screen"

    assert post_scan(server.url, STATION, "SN-1")["accepted"]
    expect(page.locator("#count-counted")).to_have_text("1")
    expect(page.locator("#count-missing li")).to_have_count(2)
    expect(page.locator("#count-missing")).not_to_contain_text("SN-1")
    expect(page.locator("#count-missing-count")).to_have_text("2")
    expect(page.locator("#count-last")).to_have_text("SN-1 counted")

    again = post_scan(server.url, STATION, "SN-1")
    assert not again["accepted"] and again["code"] == "already_counted"
    expect(page.locator("#count-last")).to_have_text("SN-1: already counted")
    expect(page.locator("#count-last")).to_have_attribute("data-kind", "already")
    assert page.eval_on_selector("#count-last", "el => getComputedStyle(el).animationName") == "count-repeat"
    expect(page.locator("#count-counted")).to_have_text("1")  # never counted twice
    page.screenshot(path=str(tmp_path / "count-800x480.png"), animations="disabled")

    assert post_scan(server.url, STATION, "SN-9")["accepted"]  # recorded on the floor: found here, it will move here
    expect(page.locator("#count-last")).to_have_text("SN-9 counted: it was at FLOOR, will move here")
    expect(page.locator("#count-last")).to_have_attribute("data-kind", "elsewhere")
    expect(page.locator("#count-counted")).to_have_text("1")  # not one of the expected
    expect(page.locator("#count-missing li")).to_have_count(2)

    for serial, left in (("SN-2", 1), ("SN-3", 0)):
        assert post_scan(server.url, STATION, serial)["accepted"]
        expect(page.locator("#count-missing-count")).to_have_text(str(left))
        expect(page.locator("#count-missing li")).to_have_count(left)
    expect(page.locator("#count-counted")).to_have_text("3")
    expect(page.locator("#document")).to_contain_text("Everything expected here has been counted.")

    assert post_scan(server.url, STATION, ADDED)["accepted"]
    expect(page.locator("#count-last")).to_have_text(f"{ADDED} counted: not in stock, will be added")
    assert page.locator("#count-last b").count() == 0  # a serial's text is text

    assert post_scan(server.url, STATION, "CMD:CANCEL")["accepted"]  # no count open: none of it
    expect(page.locator("#count")).to_be_hidden()
    expect(page.locator("#count-missing")).to_have_count(0)
