"""The product and document pages (SPEC 5 "Pages"), on SQLite and PostgreSQL.

``/products`` and ``/products/<code>``: flags, barcodes added and removed, on
hand, serials in stock, unserialised adjustments; ``/documents`` and
``/documents/<reference>``: lines, status, received against expected.
"""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

import pytest
from sqlalchemy import event, select

from station.config import Config, DatabaseConfig, StationConfig
from station.domain import catalogue, documents, posting
from station.domain.models import DocumentKind, Product, ProductBarcode, SerialNumber
from web.app import create_app


@pytest.fixture
def client(db, tmp_path, monkeypatch):
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    config = Config(database=DatabaseConfig(db.url), stations=(StationConfig("goods-in", "receive"),))
    return create_app(config, engine=db.engine).test_client()


@pytest.fixture
def world(db):
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=["036000291452"])
        catalogue.create_product(s, "BOLT/M4", "Bolt M4", serial_required_for_purchase=False,
                                 serial_required_for_sales=False)
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")


def csrf(client) -> str:
    client.get("/login")
    with client.session_transaction() as session:
        return session["csrf_token"]


def post_product(client, data: dict):
    return client.post("/products", data={**data, "csrf_token": csrf(client)}, follow_redirects=True)


def text_of(response) -> str:
    body = re.sub(r"<script.*?</script>|<svg.*?</svg>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body)))


def product(db, code: str) -> Product:
    with db.Session() as s:
        found = s.scalar(select(Product).where(Product.code == code))
        s.expunge_all()
        return found


def barcodes(db, code: str) -> list[str]:
    with db.Session() as s:
        return list(s.scalars(select(ProductBarcode.barcode).join(Product).where(Product.code == code)
                              .order_by(ProductBarcode.id)))


# --- products ---------------------------------------------------------------------------


def test_product_list_and_search(client, world):
    """Guards against the product list missing products or its search ignoring the text."""
    listing = text_of(client.get("/products"))
    assert "WID-1" in listing and "BOLT/M4" in listing
    found = client.get("/products?q=widg").get_data(as_text=True)
    assert "WID-1" in found and "BOLT/M4" not in found


def test_create_product_with_flags_and_barcodes(client, db, world):
    """Guards against the new-product form dropping a flag (unchecked means false) or a barcode."""
    page = post_product(client, {"action": "create", "code": "GAD-1", "name": "Gadget",
                                 "serial_required_for_sales": "on", "barcodes": "4006381333931 GAD-BOX"})
    assert "Product GAD-1 created." in text_of(page)
    made = product(db, "GAD-1")
    assert (made.serial_required_for_purchase, made.serial_required_for_sales) == (False, True)
    assert barcodes(db, "GAD-1") == ["04006381333931", "GAD-BOX"]


@pytest.mark.parametrize(
    "form, code",
    [
        pytest.param({"code": "WID-1", "name": "Again"}, "duplicate", id="duplicate_code"),
        pytest.param({"code": "", "name": "No code"}, "invalid_field", id="empty_code"),
        pytest.param({"code": "NEW-1", "name": "New", "barcodes": "036000291452"}, "duplicate_barcode",
                     id="barcode_of_another_product"),
    ],
)
def test_create_product_refused_with_its_code(client, db, world, form, code):
    """Guards against a refused new product being a server error, or half-made."""
    page = post_product(client, {"action": "create", **form})
    assert page.status_code == 200
    assert "Refused: " in text_of(page) and f"({code})" in text_of(page)
    assert product(db, "NEW-1") is None


def test_product_page_shows_flags_barcodes_stock(client, db, world):
    """Guards against the product page missing its flags, barcodes, on-hand count or serials in stock."""
    with db.Session.begin() as s:
        doc = documents.open_document(s, DocumentKind.receipt, supplier=catalogue.get_party(s, "supplier", "ACME"))
        for serial in ("SN/1", "SN-2"):
            documents.add_line(s, doc, product=catalogue.get_product(s, "WID-1"), serial=serial)
        posting.post(s, doc)
    page = client.get("/products/WID-1")
    text = text_of(page)
    assert "Serial required for purchase yes" in text and "Serial required for sales yes" in text
    assert "00036000291452" in text  # stored as GTIN-14
    assert re.search(r'id="on-hand">2<', page.get_data(as_text=True))
    assert 'href="/serials/SN%2F1"' in page.get_data(as_text=True)


def test_product_code_with_a_slash_routes(client, world):
    """Guards against a product code holding '/' being unreachable from its link."""
    listing = client.get("/products").get_data(as_text=True)
    assert 'href="/products/BOLT%2FM4"' in listing
    assert "Bolt M4" in text_of(client.get("/products/BOLT%2FM4"))


def test_unknown_product_is_404(client, world):
    """Guards against an unknown product code being a server error."""
    page = client.get("/products/NOPE")
    assert page.status_code == 404 and "unknown_product" in text_of(page)


def test_edit_flags_and_name(client, db, world):
    """Guards against the edit form not switching a flag off (an unchecked box is not sent at all)."""
    page = post_product(client, {"action": "edit", "code": "WID-1", "name": "Widget Mk2",
                                 "serial_required_for_purchase": "on"})
    assert "Product WID-1 saved." in text_of(page)
    saved = product(db, "WID-1")
    assert (saved.name, saved.serial_required_for_purchase, saved.serial_required_for_sales) == (
        "Widget Mk2", True, False)


def test_barcodes_added_and_removed(client, db, world):
    """Guards against the barcode forms not adding, or not removing, a barcode."""
    page = post_product(client, {"action": "add_barcode", "code": "WID-1", "barcode": "WID-BOX"})
    assert "Barcode WID-BOX added to WID-1." in text_of(page)
    assert barcodes(db, "WID-1") == ["00036000291452", "WID-BOX"]
    post_product(client, {"action": "remove_barcode", "code": "WID-1", "barcode": "00036000291452"})
    assert barcodes(db, "WID-1") == ["WID-BOX"]


@pytest.mark.parametrize(
    "form, code",
    [
        pytest.param({"action": "add_barcode", "barcode": "036000291452"}, "duplicate_barcode", id="taken"),
        pytest.param({"action": "add_barcode", "barcode": "SN-1"}, "barcode_is_serial", id="equals_a_serial"),
        pytest.param({"action": "add_barcode", "barcode": "CMD:SELL"}, "invalid_barcode", id="command"),
        pytest.param({"action": "remove_barcode", "barcode": "NOT-HERE"}, "unknown_barcode", id="remove_unknown"),
        pytest.param({"action": "adjust", "quantity": "lots", "reason": "x"}, "invalid_field",
                     id="quantity_not_a_number"),
        pytest.param({"action": "adjust", "quantity": "١٢", "reason": "x"}, "invalid_field",
                     id="quantity_arabic_digits"),
        pytest.param({"action": "adjust", "quantity": "1_0", "reason": "x"}, "invalid_field", id="quantity_underscore"),
        pytest.param({"action": "adjust", "quantity": "+-3", "reason": "x"}, "invalid_field", id="two_signs"),
        pytest.param({"action": "adjust", "quantity": "99999999999", "reason": "x"}, "invalid_field",
                     id="quantity_huge"),
        pytest.param({"action": "adjust", "quantity": "0", "reason": "x"}, "invalid_quantity", id="quantity_zero"),
        pytest.param({"action": "adjust", "quantity": "-1", "reason": "x"}, "out_of_stock", id="below_zero"),
        pytest.param({"action": "adjust", "quantity": "2", "reason": ""}, "invalid_field", id="no_reason"),
        pytest.param({"action": "edit", "name": ""}, "invalid_field", id="empty_name"),
    ],
)
def test_product_forms_refused_with_their_code(client, db, world, form, code):
    """Guards against a refused product form being a server error or changing anything."""
    with db.Session.begin() as s:
        s.add(SerialNumber(serial="SN-1", in_stock=False))
    page = post_product(client, {"code": "BOLT/M4", **form})
    assert page.status_code == 200
    assert "Refused: " in text_of(page) and f"({code})" in text_of(page)
    unchanged = product(db, "BOLT/M4")
    assert (unchanged.name, unchanged.unserialised_on_hand) == ("Bolt M4", 0)


def test_adjust_unserialised_units(client, db, world):
    """Guards against the adjust form not changing a product's unserialised stock (SPEC 3 rule 7), and against
    "unit(s)" in what it says (issue 20)."""
    page = post_product(client, {"action": "adjust", "code": "BOLT/M4", "quantity": "+5", "reason": "count"})
    assert "BOLT/M4: +5 unserialised units (" in text_of(page)
    page = post_product(client, {"action": "adjust", "code": "BOLT/M4", "quantity": "-1", "reason": "lost"})
    assert "BOLT/M4: -1 unserialised unit (" in text_of(page)
    post_product(client, {"action": "adjust", "code": "BOLT/M4", "quantity": "-1", "reason": "lost"})
    assert product(db, "BOLT/M4").unserialised_on_hand == 3
    page = post_product(client, {"action": "adjust", "code": "BOLT/M4", "quantity": "-4", "reason": "lost"})
    assert "Only 3 units of Bolt M4 without a serial are in stock." in text_of(page)
    post_product(client, {"action": "adjust", "code": "BOLT/M4", "quantity": "-2", "reason": "lost"})
    page = post_product(client, {"action": "adjust", "code": "BOLT/M4", "quantity": "-2", "reason": "lost"})
    assert "Only 1 unit of Bolt M4 without a serial is in stock." in text_of(page)
    assert re.search(r'id="on-hand">1<', client.get("/products/" + quote("BOLT/M4", safe="")).get_data(as_text=True))


# --- documents ----------------------------------------------------------------------------


@pytest.fixture
def order(db, world):
    """PO-1042 for 5 Widgets and 10 bolts; one receipt posted against it with 2 Widgets and 4 bolts."""
    with db.Session.begin() as s:
        po = documents.create_purchase_order(s, "PO-1042", "ACME", [("WID-1", 5), ("BOLT/M4", 10)])
        receipt = documents.open_document(s, DocumentKind.receipt, station="goods-in", order=po)
        for serial in ("R-SN-1", "R-SN-2"):
            documents.add_line(s, receipt, product=catalogue.get_product(s, "WID-1"), serial=serial)
        documents.add_line(s, receipt, product=catalogue.get_product(s, "BOLT/M4"), quantity=4)
        posting.post(s, receipt)
        return receipt.reference


def test_purchase_order_shows_received_against_expected(client, order):
    """Guards against the order page not telling what is still due per product."""
    page = client.get("/documents/PO-1042")
    assert page.status_code == 200
    text = text_of(page)
    assert "Purchase order PO-1042 open" in text
    assert "WID-1 Widget 5 2 3" in text  # expected, received, still due
    assert "BOLT/M4 Bolt M4 10 4 6" in text
    assert order in text  # the receipt made against it


def test_receipt_page_lists_lines_and_links_back(client, order):
    """Guards against a receipt's page missing its lines, serials or the order it fills."""
    page = client.get("/documents/" + order)
    html = page.get_data(as_text=True)
    assert "posted" in text_of(page)
    assert 'href="/documents/PO-1042"' in html
    assert 'href="/serials/R-SN-1"' in html and "R-SN-2" in html


def test_document_list_filters(client, order):
    """Guards against the document list's filters being ignored."""
    assert "PO-1042" in text_of(client.get("/documents?kind=purchase_order"))
    assert "PO-1042" not in text_of(client.get("/documents?kind=receipt"))
    assert "PO-1042" in text_of(client.get("/documents?q=po-"))
    assert "PO-1042" not in text_of(client.get("/documents?status=posted"))


def test_unknown_document_is_404(client, world):
    """Guards against an unknown reference being a server error."""
    page = client.get("/documents/PO-9")
    assert page.status_code == 404 and "unknown_document" in text_of(page)


def statements(db, client, path: str) -> int:
    """How many statements ``GET path`` runs (after one GET of it: the app's first request sets things up)."""
    client.get(path)
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_lists_read_a_page_in_as_many_statements_whatever_it_holds(client, db, order):
    """Guards against a read per row creeping back into the read models (product_record, document_record): the
    product lists and the documents page, and an order's page with its receipts, run as many statements with one
    more product (barcodes, a serial in stock) and two more receipts (lines, one against the order) as without."""
    paths = ("/products", "/api/products", "/documents", "/documents/PO-1042", "/api/documents/PO-1042")
    before = {path: statements(db, client, path) for path in paths}
    with db.Session.begin() as s:
        catalogue.create_product(s, "GAD-1", "Gadget", barcodes=["4006381333931", "X-1"])
        receipt = documents.open_document(s, DocumentKind.receipt, station="goods-in",
                                          order=documents.get_document(s, "PO-1042"))
        documents.add_line(s, receipt, product=catalogue.get_product(s, "WID-1"), serial="R-SN-3")
        documents.add_line(s, receipt, product=catalogue.get_product(s, "BOLT/M4"), quantity=2)
        posting.post(s, receipt)
        gadgets = documents.open_document(s, DocumentKind.receipt, supplier=catalogue.get_party(s, "supplier", "ACME"))
        documents.add_line(s, gadgets, product=catalogue.get_product(s, "GAD-1"), serial="G-SN-1")
        posting.post(s, gadgets)
    assert {path: statements(db, client, path) for path in paths} == before


def test_parties_and_serials_are_read_as_their_records(client, db, order):
    """Guards the party and serial read models (party_record, serials.RECORD): the party lists read a page in as
    many statements with two more parties as without; one party is one read; a serial's JSON reads its record
    once, then its open document, movements and refused scans (it read the ORM object and then its record)."""
    paths = ("/api/suppliers", "/api/customers", "/api/suppliers?q=ac")
    before = {path: statements(db, client, path) for path in paths}
    with db.Session.begin() as s:
        catalogue.create_party(s, "supplier", "ACE", "Ace Parts")
        catalogue.create_party(s, "customer", "JOE", "Joe Bloggs")
    assert {path: statements(db, client, path) for path in paths} == before
    begin = db.engine.dialect.name == "sqlite"  # SQLite's transaction starts with a statement of its own
    assert statements(db, client, "/api/suppliers/ACME") == begin + 1
    assert statements(db, client, "/api/serials/R-SN-1") == begin + 4
    assert statements(db, client, "/serials/R-SN-1") == statements(db, client, "/serials/R-SN-2")
