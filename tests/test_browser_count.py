"""The count screen in real headless Chromium (SPEC 3c "Count", SPEC 5 "Pages"; issue 23): usable from 3 m.

A station counting a location shows counted against expected in large
type, the missing list shrinking as units are scanned, a repeat scan
flashing "already counted", and a unit from elsewhere saying where it was;
with no count open, none of it.

What the screen reads: the ``count`` object the scan service puts on the
station's open document in its view (feat/loc-scan: ``{"counted",
"expected", "missing", "last": {"kind", "serial", "from"}}``). Until count
scanning lands on main, ``counting`` below writes that object where the view
hands it to the pages (``ScanService.view``'s document) and each step is a
real scan through the API, so the screen changes live, through its event
stream, exactly as it will when the scans themselves produce the count.
Once feat/loc-scan is merged, the steps become ``LOC:`` and serial scans in
count mode and ``counting`` goes.
"""
from __future__ import annotations

import json
import re
import urllib.request

import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

from helpers.api import serve  # noqa: E402
from helpers.browser import chromium  # noqa: E402
from helpers.database import create_database  # noqa: E402

from station.config import Config, DatabaseConfig, StationConfig  # noqa: E402
from station.domain import catalogue  # noqa: E402
from station.scanning.service import ScanService  # noqa: E402
from web.app import create_app  # noqa: E402

expect = playwright_api.expect
STATION = "shelf"


@pytest.fixture(scope="module")
def counting():
    """The count on the station's open document, as the view will carry it: set ``counting["count"]``."""
    state: dict = {"count": None}
    real = ScanService.view
    patch = pytest.MonkeyPatch()

    def view(self, session, station):
        out = real(self, session, station)
        if station == STATION and out["document"] is not None and state["count"] is not None:
            out["document"]["count"] = json.loads(json.dumps(state["count"]))
        return out

    patch.setattr(ScanService, "view", view)
    yield state
    patch.undo()


@pytest.fixture(scope="module")
def server(tmp_path_factory, counting):
    tmp = tmp_path_factory.mktemp("count")
    patch = pytest.MonkeyPatch()
    patch.setenv("STATE_DIRECTORY", str(tmp))
    db = create_database("sqlite", tmp)
    with db.Session.begin() as s:
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        catalogue.create_product(s, "WID-1", "Widget")
    config = Config(database=DatabaseConfig(db.url), stations=(StationConfig(STATION, "receive"),))
    app = create_app(config, engine=db.engine)
    app.config["STATION_SSE_HEARTBEAT"] = 1.0
    try:
        with serve(app, threads=4) as port:
            yield f"http://127.0.0.1:{port}"
    finally:
        db.close()
        patch.undo()


def scan(server: str, data: str) -> dict:
    request = urllib.request.Request(f"{server}/api/stations/{STATION}/scans", data=json.dumps({"data": data}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


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
                                                                                             counting, tmp_path):
    """Guards issue 23's count screen at 800x480: large counted/expected, the missing list shrinking with each
    scan, live; "already counted" flashing on a repeat; "it was at A-04" for a unit from elsewhere; nothing when
    the document has no count."""
    assert scan(server, "SUP:ACME")["accepted"]  # an open document: the count rides on it
    page.goto(f"{server}/stations/{STATION}")
    expect(page.locator("#live")).to_have_class(re.compile(r"\bconnected\b"))
    expect(page.locator("#count")).to_be_hidden()
    assert page.locator("#count-missing").count() == 0

    counting["count"] = {"counted": 0, "expected": 3, "missing": ["SN-1", "SN-2", "SN-3"], "last": None}
    scan(server, "ZZ-STEP-1")  # any scan changes the station: the screen refreshes through its event stream
    expect(page.locator("#count-counted")).to_have_text("0")
    expect(page.locator("#count-expected")).to_have_text("3")
    expect(page.locator("#count-missing li")).to_have_count(3)
    assert px(page, "#count-counted") >= 3 * px(page, "#scan"), "counted is not large on an 800x480 screen"

    counting["count"] = {"counted": 1, "expected": 3, "missing": ["SN-2", "SN-3"],
                         "last": {"kind": "counted", "serial": "SN-1", "from": None}}
    scan(server, "ZZ-STEP-2")
    expect(page.locator("#count-counted")).to_have_text("1")
    expect(page.locator("#count-missing li")).to_have_count(2)
    expect(page.locator("#count-missing")).not_to_contain_text("SN-1")
    expect(page.locator("#count-last")).to_have_text("SN-1 counted")

    counting["count"] = {**counting["count"], "last": {"kind": "already", "serial": "SN-1", "from": None}}
    scan(server, "ZZ-STEP-3")
    expect(page.locator("#count-last")).to_have_text("SN-1: already counted")
    expect(page.locator("#count-last")).to_have_attribute("data-kind", "already")
    assert page.eval_on_selector("#count-last", "el => getComputedStyle(el).animationName") == "count-repeat"
    expect(page.locator("#count-counted")).to_have_text("1")  # never counted twice
    page.screenshot(path=str(tmp_path / "count-800x480.png"), animations="disabled")

    counting["count"] = {"counted": 2, "expected": 3, "missing": ["SN-3"],
                         "last": {"kind": "elsewhere", "serial": "SN-2", "from": "A-04"}}
    scan(server, "ZZ-STEP-4")
    expect(page.locator("#count-last")).to_have_text("SN-2 counted: it was at A-04, will move here")
    expect(page.locator("#count-missing li")).to_have_count(1)

    counting["count"] = {"counted": 3, "expected": 3, "missing": [],
                         "last": {"kind": "added", "serial": "SN-<b>9</b>", "from": None}}
    scan(server, "ZZ-STEP-5")
    expect(page.locator("#count-last")).to_have_text("SN-<b>9</b> counted: not in stock, will be added")
    expect(page.locator("#document")).to_contain_text("Everything expected here has been counted.")
    assert page.locator("#count-last b").count() == 0  # a serial's text is text

    counting["count"] = None
    scan(server, "ZZ-STEP-6")
    expect(page.locator("#count")).to_be_hidden()
    expect(page.locator("#count-missing")).to_have_count(0)
