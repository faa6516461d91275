"""The service desk's pages (issue 14 item 4), on SQLite and PostgreSQL through Flask's test client.

The operator screen in service mode shows the customer, the warranty state
in colour (a class per state, and the words) and the lines; the serial page
its status, warranty and service movements in its timeline; ``/documents``
lists check-ins and check-outs; the overview lists the units in service for
longer than ``[service] overdue_days``; the product pages show and edit the
warranty months. The colour as a browser paints it: tests/test_browser_service.py.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from helpers.shop import stock_shop
from sqlalchemy import DateTime, bindparam, text

from station.config import Config, DatabaseConfig, ServiceConfig, StationConfig
from station.domain.models import Product
from station.domain.warranty import add_months, utc_today
from station.scanning.service import ScanService
from web.app import create_app

STATIONS = (StationConfig("desk", "service"), StationConfig("till", "sell"))


@pytest.fixture
def config(db):
    return Config(database=DatabaseConfig(db.url), stations=STATIONS, service=ServiceConfig(overdue_days=14))


@pytest.fixture
def client(db, config, tmp_path, monkeypatch):
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    return create_app(config, engine=db.engine).test_client()


@pytest.fixture
def shop(db, config):
    """Jane Doe's phones SN-1 and SN-2 (24 months) and cable CB-1 (none); SN-9 in stock; a scan service for the desk."""
    with db.Session.begin() as s:
        stock_shop(s, [("PHONE", "SN-1"), ("PHONE", "SN-2"), ("PHONE", "SN-9"), ("CABLE", "CB-1")],
                   {"JANE": ("SN-1", "SN-2", "CB-1")})
    service = ScanService(config)

    def scan(*raws: str, station: str = "desk"):
        for raw in raws:
            with db.Session.begin() as s:
                result = service.process(s, station, raw, device="test")
            assert result.accepted, (raw, result.message)
        return result

    return scan


def text_of(response) -> str:
    body = re.sub(r"<script.*?</script>|<svg.*?</svg>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body)))


def until() -> str:
    return add_months(utc_today(), 24).isoformat()


def test_desk_screen_shows_the_customer_the_warranty_in_colour_and_the_lines(client, shop):
    """Guards the operator screen at the desk: customer, the last unit's warranty state as a class, every line's."""
    shop("SN-1", "CB-1")
    html = client.get("/stations/desk").get_data(as_text=True)
    assert 'class="mode mode-service"' in html and ">Service desk<" in html
    banner = re.search(r'<p id="desk-warranty" class="warranty-banner warranty-(\w+)" data-warranty="(\w+)">(.*?)</p>',
                       html, re.S)
    assert banner and banner[1] == banner[2] == "none" and "CB-1" in banner[3] and "no warranty" in banner[3]
    assert re.search(r'class="warranty warranty-in_warranty">in warranty until ' + until(), html)
    assert re.search(r'class="warranty warranty-none">no warranty', html)
    page = text_of(client.get("/stations/desk"))
    assert "Customer: Jane Doe JANE" in page
    assert "Cable CB-1 of Jane Doe: no warranty. Scan the next serial or CMD:FINISH." in page
    panel = client.get("/stations/desk/panel").get_json()
    assert panel["mode"] == "service" and 'warranty-banner warranty-none' in panel["document_html"]


def test_desk_screen_shows_a_replacement_and_a_warranty_ended(db, client, shop):
    """Guards the screen's other two states: out of warranty in its own colour, a replacement line naming its unit."""
    with db.engine.begin() as conn:  # SN-2 sold two and a half years ago: its 24 months are over
        conn.execute(text("UPDATE movement SET at = :at WHERE kind = 'sale' AND serial_id = "
                          "(SELECT id FROM serial_number WHERE serial = 'SN-2')")
                     .bindparams(bindparam("at", type_=DateTime(timezone=True))),
                     {"at": datetime(2023, 6, 1, tzinfo=UTC)})
        conn.execute(text("UPDATE serial_number SET warranty_until = '2025-06-01' WHERE serial = 'SN-2'"))
    shop("SN-2", "CMD:FINISH", "SN-2")
    html = client.get("/stations/desk").get_data(as_text=True)
    assert 'warranty-banner warranty-out_of_warranty' in html and "out of warranty since 2025-06-01" in html
    shop("CMD:REPLACE", "SN-9")
    html = client.get("/stations/desk").get_data(as_text=True)
    assert 'warranty-banner warranty-in_warranty' in html  # the replacement's own term, from today
    assert re.search(r'SN-9</a> <span class="note">replaces <a href="/serials/SN-2">SN-2</a>', html)


def test_serial_page_shows_status_warranty_and_the_service_history(client, shop):
    """Guards the serial page: its status and warranty, and check-in, check-out and the swap in its timeline."""
    shop("SN-1", "SN-2", "CMD:FINISH", "SN-1", "SN-2", "CMD:REPLACE", "SN-9", "CMD:FINISH")
    page = client.get("/serials/SN-2")
    html = page.get_data(as_text=True)
    assert '<span class="status-badge status-faulty">Faulty</span>' in html
    # Faulty and ours: its warranty a plain date, not green (the customer's cover went with SN-9).
    assert re.search(r'<dd id="warranty"><span class="warranty warranty-plain">In warranty until ' + until(), html)
    timeline = text_of(page)
    assert "Checked in for repair 0" in timeline and "Replaced (faulty) by SN-9 0" in timeline
    assert 'href="/serials/SN-9"' in html
    new = client.get("/serials/SN-9")
    assert "Given as a replacement for SN-2 -1" in text_of(new)
    assert '<span class="status-badge status-with_customer">With customer</span>' in new.get_data(as_text=True)
    served = client.get("/serials/SN-1").get_data(as_text=True)
    assert "Checked out after repair" in served
    shop("SN-1", "CMD:FINISH")  # back at the desk, checked in
    assert '<span class="status-badge status-in_service">In service</span>' in client.get("/serials/SN-1").get_data(
        as_text=True)
    assert "At the service desk" in client.get("/serials/SN-1").get_data(as_text=True)  # no adjust form meanwhile
    listed = text_of(client.get("/serials?q=SN-"))
    assert "SN-1 PHONE Phone no In service" in listed and "SN-2 PHONE Phone no Faulty" in listed


def test_documents_lists_check_ins_and_check_outs(client, shop):
    """Guards /documents: check-ins and check-outs listed, with their customer, and filtered by kind."""
    shop("SN-1", "CMD:FINISH", "SN-1", "CMD:FINISH")
    page = text_of(client.get("/documents"))
    assert re.search(r"SO-\d{6} Service check-out posted desk JANE Jane Doe 1", page)
    assert re.search(r"SI-\d{6} Service check-in posted desk JANE Jane Doe 1", page)
    only = text_of(client.get("/documents?kind=service_check_in"))
    assert "Service check-in" in only and not re.search(r"SO-\d{6}", only)
    html = client.get("/documents").get_data(as_text=True)
    for kind, words in (("service_check_in", "Service check-in"), ("service_check_out", "Service check-out")):
        assert re.search(rf'<option value="{kind}"\s*>{words}</option>', html)  # the kind filter offers them


def test_overview_lists_the_units_in_service_too_long(db, client, shop):
    """Guards the overdue list: a unit in service for more than overdue_days is listed, a fresh one is not."""
    shop("SN-1", "SN-2", "CMD:FINISH")
    assert 'id="overdue"' not in client.get("/").get_data(as_text=True)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE movement SET at = :at WHERE kind = 'service_in' AND serial_id = "
                          "(SELECT id FROM serial_number WHERE serial = 'SN-1')")
                     .bindparams(bindparam("at", type_=DateTime(timezone=True))),
                     {"at": datetime.now(UTC) - timedelta(days=20)})
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert 'id="overdue"' in html
    listed = text_of(page)
    assert "At the service desk for more than 14 days: 1" in listed
    assert re.search(r"SN-1 Phone Jane Doe [\d-]+ [\d:]+ 20 SI-\d{6}", listed)
    assert "SN-2" not in listed.split("days: 1")[1]
    shop("SN-1", "CMD:FINISH")  # checked out: no longer overdue
    assert 'id="overdue"' not in client.get("/").get_data(as_text=True)


def test_product_pages_show_and_edit_the_warranty(db, client, shop):
    """Guards the product page: the warranty months shown, edited (0-600) and given to a new product."""
    assert "Warranty 24 months" in text_of(client.get("/products/PHONE"))
    assert "Warranty none" in text_of(client.get("/products/CABLE"))
    client.get("/login")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    form = {"action": "edit", "code": "CABLE", "name": "Cable", "warranty_months": "6", "csrf_token": token,
            "serial_required_for_purchase": "on", "serial_required_for_sales": "on"}
    assert "Warranty 6 months" in text_of(client.post("/products", data=form, follow_redirects=True))
    refused = client.post("/products", data={**form, "warranty_months": "601"}, follow_redirects=True)
    assert "invalid_field" in refused.get_data(as_text=True)
    client.post("/products", data={"action": "create", "code": "TAB", "name": "Tablet", "warranty_months": "12",
                                   "csrf_token": token}, follow_redirects=True)
    with db.Session() as s:
        months = {p.code: p.warranty_months for p in s.query(Product)}
    assert months == {"PHONE": 24, "CABLE": 6, "TAB": 12}
    assert re.search(r"TAB Tablet no no 12", text_of(client.get("/products")))
