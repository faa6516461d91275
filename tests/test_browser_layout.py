"""The operator screen's blocks never overlap, in real headless Chromium, at its three target sizes (issue 20, item 7).

The screen once drew the scan box over the open document's heading and first
line as soon as a result line showed: its grid had fewer rows than blocks, so
one block got a squeezed row and spilled over the next. Here every block the
screen can show (the top bar, offline banner, operator, prompt, printer,
result line, scan box, open document, recent scans) is measured by its
bounding box at 800x480, 1280x800 and 1920x1080, with and without a printer,
an operator, a refusal and the offline banner: no two overlap, none spills out
of its own box or off the screen, and the two panels still show their heading
and first entry (offline too: the screen keeps what it showed).

Each state has a station of its own, set up before the page opens; the last
scan comes through the API after the page is open, so its result line shows
live, as at the station. The offline state is the database really going away:
PostgreSQL behind a TCP proxy that the test takes down, so the whole module
runs on PostgreSQL (the layout does not depend on the database; the pages'
database side runs on both in test_pages_*).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations

import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

from helpers.api import serve  # noqa: E402
from helpers.browser import chromium, post_scan  # noqa: E402
from helpers.daemon import FlakyProxy  # noqa: E402
from helpers.database import create_database  # noqa: E402

from station.config import from_dict  # noqa: E402
from station.daemon.daemon import daemon_engine  # noqa: E402
from station.domain import catalogue, documents, operators  # noqa: E402
from station.scanning.service import ScanService  # noqa: E402
from web.app import create_app  # noqa: E402

expect = playwright_api.expect

SIZES = [pytest.param(800, 480, 32, id="800x480"), pytest.param(1280, 800, 48, id="1280x800"),
         pytest.param(1920, 1080, 64, id="1920x1080")]


@dataclass(frozen=True)
class State:
    """What the screen shows besides the prompt; ``station`` is the station set up that way."""

    station: str
    document: bool = True  # an open receipt with two lines
    printer: bool = False
    operator: bool = False
    last: str | None = "accepted"  # the result line: accepted | refused | None (no scan yet)
    offline: bool = False


STATES = [
    State("idle", document=False, last=None),
    State("accepted"),
    State("refusal", last="refused"),
    State("printer", printer=True),
    State("operator", operator=True),
    State("offline", offline=True),
    State("everything", printer=True, operator=True, last="refused", offline=True),
]

# The screen's blocks: what each is, and whether it is a panel (which scrolls its own content).
BLOCKS = {
    "top bar": ".screen-top", "first-run hint": ".first-run", "flashes": ".flashes",
    "offline banner": "#offline-banner", "operator": "#operator", "prompt": "#prompt", "printer": "#printer",
    "result line": "#result", "scan box": "#scan", "open document": "section:has(#document)",
    "recent scans": "section:has(#scans)",
}
PANELS = {"open document", "recent scans"}

MEASURE = """blocks => Object.fromEntries(Object.entries(blocks).map(([name, selector]) => {
  const el = document.querySelector(selector);
  if (!el || el.getClientRects().length === 0) return [name, null];  // absent or display: none
  const r = el.getBoundingClientRect();
  return [name, {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                 spills: el.scrollHeight - el.clientHeight, scrolls: el.scrollTop}];
}))"""

# Where the first things of a panel are, and the panel's box: shown means inside it.
FIRSTS = """([panel, selectors]) => {
  const box = document.querySelector(panel).getBoundingClientRect();
  return selectors.map(selector => {
    const el = document.querySelector(selector);
    if (!el) return [selector, null];
    const r = el.getBoundingClientRect();
    return [selector, r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5 && r.height > 0];
  });
}"""


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    """A station per state on PostgreSQL behind a proxy, on the station's own server; (url, proxy, browser)."""
    tmp = tmp_path_factory.mktemp("layout")
    patch = pytest.MonkeyPatch()
    patch.setenv("STATE_DIRECTORY", str(tmp))
    db = create_database("postgresql", tmp)
    proxy, proxied = FlakyProxy.before(db.url)
    config = from_dict({
        "database": {"url": proxied},
        "stations": [{"id": s.station, "mode": "receive", **({"printer": "zebra-1"} if s.printer else {})}
                     for s in STATES],
        "printers": [{"id": "zebra-1", "kind": "zpl", "address": "tcp://192.0.2.10:9100"}],
    })
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X, the long-named one", barcodes=["036000291452"])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        operators.create_operator(s, "B-U17", "Jane Doe")
        for n in range(len(STATES)):
            documents.create_purchase_order(s, f"PO-{1000 + n}", "ACME", [("WID-1", 50)])
    service = ScanService(config)
    with db.Session.begin() as s:
        for n, state in enumerate(STATES):
            scans = (["USR:B-U17"] if state.operator else []) + (
                [f"PO-{1000 + n}", "036000291452", f"SN-{state.station}-1", f"SN-{state.station}-2"]
                if state.document else [])
            for text in scans:
                assert service.process(s, state.station, text, device="kbd").accepted, text
    engine = daemon_engine(proxied)
    app = create_app(config, engine=engine)
    app.config["STATION_SSE_HEARTBEAT"] = 1.0
    try:
        with serve(app, threads=8) as port, chromium() as browser:
            yield f"http://127.0.0.1:{port}", proxy, browser
    finally:
        engine.dispose()
        proxy.close()
        db.close()
        patch.undo()


def overlap(a: dict, b: dict) -> float:
    """The area two boxes share (touching edges share none)."""
    return max(0.0, min(a["right"], b["right"]) - max(a["left"], b["left"])) * \
        max(0.0, min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]))


def bring_to(page, server: str, proxy, state: State, size: str) -> None:
    """Open the screen of ``state``'s station, make its last scan live, and take the database away if asked."""
    page.goto(f"{server}/stations/{state.station}")
    expect(page.locator("#live")).to_have_class(re.compile(r"\bconnected\b"))
    if state.last == "accepted":
        serial = f"SN-{state.station}-{size}"
        assert post_scan(server, state.station, serial, timeout=10)["accepted"]
        expect(page.locator("#result")).to_have_class("result result-ok")
        expect(page.locator("#result")).to_contain_text(serial)
    elif state.last == "refused":
        refused = post_scan(server, state.station, f"SN-{state.station}-1", timeout=10)
        assert refused["code"] == "serial_on_open_document"
        expect(page.locator("#result")).to_have_class("result result-bad")
    if state.printer:
        expect(page.locator("#printer")).to_be_visible()
    else:
        expect(page.locator("#printer")).to_be_hidden()
    expect(page.locator("#operator")).to_have_text("Jane Doe" if state.operator else "Nobody signed in")
    if state.offline:
        proxy.down()
        expect(page.locator("body")).to_have_class(re.compile(r"\bis-offline\b"), timeout=30_000)
        expect(page.locator("#offline-banner")).to_be_visible()
    else:
        expect(page.locator("#offline-banner")).to_be_hidden()
    if state.document:  # the offline screen keeps what it showed
        expect(page.locator("#document .doc-head")).to_contain_text("R-")
    expect(page.locator("#scans")).to_contain_text(f"SN-{state.station}-" if state.last else "No scans yet")


@pytest.mark.parametrize("state", [pytest.param(s, id=s.station) for s in STATES])
@pytest.mark.parametrize("width, height, min_prompt_px", SIZES)
def test_no_two_blocks_of_the_screen_overlap(rig, tmp_path, state, width, height, min_prompt_px):
    """Guards against the scan box (or any block) drawn over the open document, or a block squeezed to nothing or
    pushed off the screen, once a result line, a printer, an operator, a refusal or the offline banner shows."""
    server, proxy, browser = rig
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        bring_to(page, server, proxy, state, f"{width}x{height}")
        page.screenshot(path=str(tmp_path / f"{state.station}-{width}x{height}.png"))
        boxes = {name: box for name, box in page.evaluate(MEASURE, BLOCKS).items() if box is not None}
        expected = {"top bar", "operator", "scan box", "open document", "recent scans"}
        expected |= {"offline banner"} if state.offline else {"prompt", "result line"}
        expected |= {"printer"} if state.printer else set()
        assert expected <= boxes.keys()

        shared = [(a, b) for a, b in combinations(boxes, 2) if overlap(boxes[a], boxes[b]) > 0.5]
        assert shared == [], f"blocks drawn over each other: {shared}"
        for name, box in boxes.items():
            assert box["bottom"] - box["top"] >= 8, f"{name} squeezed to {box['bottom'] - box['top']:.0f} px"
            assert box["left"] >= 0 and box["right"] <= width and box["top"] >= 0 and box["bottom"] <= height, \
                f"{name} off the screen: {box}"
            if name not in PANELS:
                assert box["spills"] <= 1, f"{name}'s content spills {box['spills']} px out of its box"
        firsts = {"section:has(#document)": ["#doc-h", "#document .doc-head" if state.document else "#document .none"],
                  "section:has(#scans)": ["#scans-h", "#scans li:first-child .msg" if state.last else "#scans .none"]}
        for panel, selectors in firsts.items():
            for selector, shown in page.evaluate(FIRSTS, [panel, selectors]):
                assert shown, f"{selector} not shown whole in its panel"
        if not state.offline:
            size = float(page.locator("#prompt").evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
            assert size >= min_prompt_px  # read from two metres
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate("document.documentElement.scrollHeight") <= height
    finally:
        context.close()
        if state.offline:
            proxy.up()
