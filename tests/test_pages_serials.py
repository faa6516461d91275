"""The serial pages (SPEC 5 "Pages"): search, the record, its forms, on SQLite and PostgreSQL.

Flask's test client as a loopback client (trusted); every form sends its CSRF
token and is answered with a redirect (Post/Redirect/Get); refused input is a
message naming the refusal code, never a server error.
"""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

import pytest
from sqlalchemy import select

from station.config import Config, DatabaseConfig, StationConfig
from station.domain import catalogue, documents, posting
from station.domain.models import Document, DocumentKind, Movement, ScanLog, SerialNumber
from station.scanning.service import ScanService
from web.app import create_app


@pytest.fixture
def app(db, tmp_path, monkeypatch):
    """An app on the test's database; its session secret in the test's own folder."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    config = Config(database=DatabaseConfig(db.url),
                    stations=(StationConfig("goods-in", "receive"), StationConfig("till", "sell")))
    return create_app(config, engine=db.engine)


@pytest.fixture
def world(db):
    """A product with a barcode, a second product, two suppliers and a customer."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=["036000291452"])
        catalogue.create_product(s, "GAD-1", "Gadget")
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        catalogue.create_party(s, "supplier", "OTHER", "Other Ltd")
        catalogue.create_party(s, "customer", "BOB", "Bob")


def receive(db, product_code: str, *serials: str, supplier: str = "ACME") -> None:
    with db.Session.begin() as s:
        doc = documents.open_document(s, DocumentKind.receipt, station="goods-in",
                                      supplier=catalogue.get_party(s, "supplier", supplier))
        for text in serials:
            documents.add_line(s, doc, product=catalogue.get_product(s, product_code), serial=text)
        posting.post(s, doc)


def csrf(client) -> str:
    """The session's CSRF token, as every form of the pages carries it."""
    client.get("/login")
    with client.session_transaction() as session:
        return session["csrf_token"]


def post_form(client, data: dict, *, follow: bool = False):
    return client.post("/serials", data={**data, "csrf_token": csrf(client)}, follow_redirects=follow)


def text_of(response) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, space squeezed."""
    body = re.sub(r"<script.*?</script>|<svg.*?</svg>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body)))


def serial_path(serial: str) -> str:
    return "/serials/" + quote(serial, safe="")


def record(db, serial: str) -> SerialNumber | None:
    with db.Session() as s:
        return s.scalar(select(SerialNumber).where(SerialNumber.serial == serial))


# --- creating ----------------------------------------------------------------------------


def test_new_serial_needs_only_its_number(client, db, world):
    """Guards against the new-serial form demanding a product, customer or supplier (SPEC 3 rule 1)."""
    response = post_form(client, {"action": "create", "serial": "  HM-1 "})
    assert response.status_code == 303
    assert response.headers["Location"] == "/serials/HM-1"
    page = client.get("/serials/HM-1")
    assert page.status_code == 200
    assert "Serial HM-1 created." in text_of(page)
    assert re.search(r'<input type="checkbox" id="in-stock" disabled\s*title', page.get_data(as_text=True))
    created = record(db, "HM-1")
    assert (created.product_id, created.customer_id, created.supplier_id, created.in_stock) == (None, None, None, False)


@pytest.mark.parametrize(
    "serial, code",
    [
        pytest.param("CMD:FINISH", "invalid_serial", id="command_prefix"),
        pytest.param("PO-1042", "invalid_serial", id="document_pattern"),
        pytest.param("036000291452", "invalid_serial", id="equals_product_barcode"),
        pytest.param("", "invalid_serial", id="empty"),
        pytest.param("X" * 65, "invalid_serial", id="over_64_characters"),
        pytest.param("SN\x07-1", "invalid_serial", id="control_character"),
    ],
)
def test_new_serial_refused_with_its_code(client, db, world, serial, code):
    """Guards against a refused new serial becoming a 500 or a silent no-op: the code is shown."""
    response = post_form(client, {"action": "create", "serial": serial})
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Refused: " in text_of(page) and f"({code})" in text_of(page)
    with db.Session() as s:
        assert s.scalar(select(SerialNumber.id).limit(1)) is None


def test_duplicate_serial_refused(client, db, world):
    """Guards against the form creating a second record for one serial."""
    post_form(client, {"action": "create", "serial": "HM-1"})
    page = post_form(client, {"action": "create", "serial": "HM-1"}, follow=True)
    assert "Refused: " in text_of(page) and "(duplicate)" in text_of(page)


def test_new_serial_with_product_and_supplier(client, db, world):
    """Guards against the optional fields of the new-serial form being dropped."""
    post_form(client, {"action": "create", "serial": "HM-2", "product": "WID-1", "supplier": "ACME"})
    created = record(db, "HM-2")
    assert created.product_id is not None and created.supplier_id is not None


# --- keys that are hard to route ---------------------------------------------------------


@pytest.mark.parametrize(
    "serial",
    [
        pytest.param("SN/1", id="slash"),
        pytest.param("SN//2", id="double_slash"),
        pytest.param("/lead", id="leading_slash"),
        pytest.param("trail/", id="trailing_slash"),
        pytest.param("a%41b", id="percent_escape_text"),
        pytest.param("über-é", id="unicode"),
        pytest.param("a b?c#d&e", id="query_and_fragment_characters"),
        pytest.param(".", id="dot"),
        pytest.param("..", id="dot_dot"),
        pytest.param("SN/adjust", id="looks_like_an_action"),
    ],
)
def test_serial_record_routes_any_printable_serial(client, db, world, serial):
    """Guards against a '/', '//', '%', '?' or dot segment in a serial losing or changing it in links."""
    response = post_form(client, {"action": "create", "serial": serial})
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert f'<span class="serial" id="serial-text">{escape(serial)}</span>' in page.get_data(as_text=True)
    # The hidden field of the edit form names it exactly too.
    assert f'name="serial" value="{escape(serial)}"' in page.get_data(as_text=True)
    edit = post_form(client, {"action": "edit", "serial": serial, "product": "GAD-1"}, follow=True)
    assert "Refused" not in text_of(edit)
    assert record(db, serial).product_id is not None


def escape(text: str) -> str:
    from markupsafe import escape as markup_escape

    return str(markup_escape(text))


def test_search_links_reach_the_record(client, db, world):
    """Guards against search results linking to a serial's URL unquoted."""
    post_form(client, {"action": "create", "serial": "Q/1//x%2F"})
    page = client.get("/serials?q=Q")
    href = re.search(r'<td class="serial"><a href="([^"]+)"', page.get_data(as_text=True))[1]
    assert href == "/serials/" + quote("Q/1//x%2F", safe="")
    assert client.get(href).status_code == 200


def test_unknown_serial_is_404_with_a_create_button(client, db, world):
    """Guards against an unknown serial being a bare error: the supervisor can create it from there."""
    page = client.get(serial_path("NOPE-1"))
    assert page.status_code == 404
    assert "There is no serial NOPE-1" in text_of(page)
    assert 'name="action" value="create"' in page.get_data(as_text=True)


@pytest.mark.parametrize("kind, station, scans, product, sentence", [
    pytest.param(DocumentKind.receipt, "goods-in", ["SUP:ACME", "036000291452"], "WID-1 Widget",
                 "On open receipt {ref}, not yet received.", id="receipt"),
    # A unit received without its serial (LOOSE needs none at purchase), sold with one: no record until then.
    pytest.param(DocumentKind.sale, "till", ["4006381333931"], "LOOSE Loose", "On open sale {ref}, not yet sold.",
                 id="sale"),
])
def test_serial_on_an_open_document_is_shown_until_it_posts(client, db, world, kind, station, scans, product,
                                                            sentence):
    """Guards against a serial linked from an open document (the screen's lines, /documents/<ref>) answering 404
    "There is no serial" until its document posts: its page names the document it waits on, and links to it.
    The API keeps answering 404 for it: a serial with no record has no record to give."""
    with db.Session.begin() as s:
        loose = catalogue.create_product(s, "LOOSE", "Loose", barcodes=["4006381333931"],
                                         serial_required_for_purchase=False)
        receipt = documents.open_document(s, DocumentKind.receipt, supplier=catalogue.get_party(s, "supplier", "ACME"))
        documents.add_line(s, receipt, product=loose, quantity=1)
        posting.post(s, receipt)
    service = ScanService(client.application.extensions["station"].config)
    with db.Session.begin() as s:
        for raw in (*scans, "SN-PENDING/1"):
            assert service.process(s, station, raw, device="test").accepted, raw
        reference = s.scalar(select(Document.reference).where(Document.kind == kind, Document.status == "open"))
    assert f'href="{serial_path("SN-PENDING/1")}"' in client.get("/documents/" + reference).get_data(as_text=True)
    page = client.get(serial_path("SN-PENDING/1"))
    html, said = page.get_data(as_text=True), text_of(page).replace(" ,", ",")  # the reference is a link
    assert page.status_code == 200
    assert "Serial SN-PENDING/1" in said and sentence.format(ref=reference) in said
    assert f'href="/documents/{reference}"' in html and product in said
    assert "There is no serial" not in said and 'value="create"' not in html  # the posting makes its record
    api = client.get("/api/serials/" + quote("SN-PENDING/1", safe=""))
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "unknown_serial"
    with db.Session.begin() as s:
        posting.post(s, s.scalar(select(Document).where(Document.reference == reference)))
    assert "On open" not in text_of(client.get(serial_path("SN-PENDING/1")))  # posted: the record itself
    assert client.get("/api/serials/" + quote("SN-PENDING/1", safe="")).status_code == 200


# --- the record ----------------------------------------------------------------------------


def test_record_shows_the_erp_fields_and_movements_oldest_first(client, db, world):
    """Guards against the record missing a field of the ERP page, or history out of order / without refusals."""
    receive(db, "WID-1", "SN-1")
    with db.Session.begin() as s:  # the same serial scanned again at goods-in: refused, and marked
        service = ScanService(Config(database=DatabaseConfig(db.url), stations=(StationConfig("goods-in", "receive"),)))
        for text in ("SUP:ACME", "036000291452", "SN-1"):
            service.process(s, "goods-in", text, device="test")
    page = client.get("/serials/SN-1")
    html = page.get_data(as_text=True)
    text = text_of(page)
    assert "WID-1 Widget" in text
    assert "ACME Acme Ltd" in text
    assert re.search(r'id="in-stock" disabled\s*checked', html)
    assert '<svg' in html and 'role="img"' in html and 'aria-label="SN-1"' in html
    movements = html[html.index('id="movements"'):]
    receipt_at, refused_at = movements.index("Receipt"), movements.index("Refused scan")
    assert receipt_at < refused_at  # oldest first
    assert 'class="refused"' in movements and "serial_in_stock" in movements


def test_movements_are_paged(client, db, world):
    """Guards against a long history being cut off with no way to page through it."""
    receive(db, "WID-1", "SN-P")
    with db.Session.begin() as s:
        for _ in range(60):
            s.add(ScanLog(station="till", device="t", raw="SN-P", serial_text="SN-P", accepted=False,
                          code="serial_in_stock", message="again"))
    first = client.get("/serials/SN-P").get_data(as_text=True)
    assert "Page 1 of 2 (61)" in first
    second = client.get("/serials/SN-P?mpage=2").get_data(as_text=True)
    assert "Page 2 of 2 (61)" in second
    assert second.count('class="refused"') == 11


def test_serial_that_cannot_be_drawn_says_why(client, db, world):
    """Guards against a non-ASCII serial (no Code 128 for it) breaking its page."""
    post_form(client, {"action": "create", "serial": "Zähler-1"})
    page = client.get(serial_path("Zähler-1"))
    assert page.status_code == 200
    assert "No barcode:" in text_of(page)


def test_html_in_a_serial_is_shown_escaped(client, db, world):
    """Guards against markup in a barcode reaching the page (or the SVG) unescaped."""
    evil = '<img src=x onerror=alert(1)>'
    post_form(client, {"action": "create", "serial": evil})
    page = client.get(serial_path(evil))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert "<img" not in svg and 'aria-label="&lt;img src=x onerror=alert(1)&gt;"' in svg
    listing = client.get("/serials?q=%3Cimg").get_data(as_text=True)
    assert "<img" not in listing and "&lt;img" in listing


# --- editing and adjusting ----------------------------------------------------------------------


def test_edit_form_changes_and_clears_supplier_and_product(client, db, world):
    """Guards against the edit form not saving, or an empty field not clearing the record."""
    post_form(client, {"action": "create", "serial": "E-1", "supplier": "ACME"})
    page = post_form(client, {"action": "edit", "serial": "E-1", "product": "WID-1", "customer": "",
                              "supplier": "OTHER"},
                     follow=True)
    assert "Serial E-1 saved" in text_of(page)
    assert "OTHER Other Ltd" in text_of(page)
    post_form(client, {"action": "edit", "serial": "E-1", "product": "", "customer": "", "supplier": ""})
    cleared = record(db, "E-1")
    assert (cleared.product_id, cleared.supplier_id) == (None, None)


def test_edit_form_leaves_what_its_post_leaves_out(client, db, world):
    """Guards against a post naming only the customer clearing the product and the supplier (issue 10, defect 11)."""
    post_form(client, {"action": "create", "serial": "E-4", "product": "WID-1", "supplier": "ACME"})
    post_form(client, {"action": "edit", "serial": "E-4", "customer": "BOB"})
    kept = record(db, "E-4")
    assert kept.product_id is not None and kept.supplier_id is not None and kept.customer_id is not None


@pytest.mark.parametrize(
    "change, code",
    [
        pytest.param({"product": "NOPE"}, "unknown_product", id="unknown_product"),
        pytest.param({"supplier": "NOPE"}, "unknown_party", id="unknown_supplier"),
        pytest.param({"customer": "BOB"}, "serial_in_stock", id="customer_while_in_stock"),
    ],
)
def test_edit_refused_with_its_code_and_nothing_changed(client, db, world, change, code):
    """Guards against a refused edit half-saving or failing with a server error."""
    receive(db, "WID-1", "E-2")
    form = {"action": "edit", "serial": "E-2", "product": "WID-1", "customer": "", "supplier": "ACME", **change}
    page = post_form(client, form, follow=True)
    assert page.status_code == 200
    assert "Refused: " in text_of(page) and f"({code})" in text_of(page)
    kept = record(db, "E-2")
    assert kept.in_stock and kept.customer_id is None


def test_in_stock_cannot_be_posted(client, db, world):
    """Guards against a hand-made form setting In Stock: the edit form ignores what it does not own."""
    post_form(client, {"action": "create", "serial": "E-3"})
    post_form(client, {"action": "edit", "serial": "E-3", "in_stock": "on"})
    assert record(db, "E-3").in_stock is False


def test_adjust_into_and_out_of_stock_with_a_reason(client, db, world):
    """Guards against the adjust form not moving stock, or moving it without a reason (SPEC 3 rule 7)."""
    post_form(client, {"action": "create", "serial": "A-1", "product": "WID-1"})
    page = post_form(client, {"action": "adjust", "serial": "A-1", "direction": "in", "reason": "found on shelf"},
                     follow=True)
    assert "adjusted into stock" in text_of(page)
    assert record(db, "A-1").in_stock is True
    post_form(client, {"action": "adjust", "serial": "A-1", "direction": "out", "reason": "damaged"})
    assert record(db, "A-1").in_stock is False
    with db.Session() as s:
        assert [m.quantity for m in s.scalars(select(Movement).order_by(Movement.id))] == [1, -1]


@pytest.mark.parametrize(
    "form, code",
    [
        pytest.param({"direction": "in", "reason": ""}, "invalid_field", id="no_reason"),
        pytest.param({"direction": "sideways", "reason": "x"}, "invalid_field", id="bad_direction"),
        pytest.param({"direction": "out", "reason": "x"}, "serial_not_in_stock", id="out_when_not_in_stock"),
    ],
)
def test_adjust_refused_with_its_code(client, db, world, form, code):
    """Guards against a refused adjustment writing a movement or failing with a server error."""
    post_form(client, {"action": "create", "serial": "A-2", "product": "WID-1"})
    page = post_form(client, {"action": "adjust", "serial": "A-2", **form}, follow=True)
    assert page.status_code == 200
    assert "Refused: " in text_of(page) and f"({code})" in text_of(page)
    with db.Session() as s:
        assert s.scalar(select(Movement.id).limit(1)) is None


def test_form_for_an_unknown_serial_is_refused(client, db, world):
    """Guards against editing a serial deleted meanwhile being a server error."""
    page = post_form(client, {"action": "edit", "serial": "GONE", "supplier": "ACME"}, follow=True)
    assert "Refused: " in text_of(page) and "(unknown_serial)" in text_of(page)


def test_unknown_form_action_is_400(client, db, world):
    """Guards against a malformed form being treated as some default action."""
    assert post_form(client, {"action": "explode", "serial": "X"}).status_code == 400


# --- search ----------------------------------------------------------------------------------


def test_search_by_prefix_product_stock_and_customer(client, db, world):
    """Guards against a search filter being ignored or matching too much."""
    receive(db, "WID-1", "W-1", "W-2")
    receive(db, "GAD-1", "G-1")
    with db.Session.begin() as s:
        doc = documents.open_document(s, DocumentKind.sale, customer=catalogue.get_party(s, "customer", "BOB"))
        documents.add_line(s, doc, serial="W-2")
        posting.post(s, doc)
    post_form(client, {"action": "create", "serial": "w-loose"})

    def found(query: str) -> list[str]:
        html = client.get("/serials?" + query).get_data(as_text=True)
        return [unescape(s) for s in re.findall(r'<td class="serial"><a href="[^"]+">([^<]+)</a>', html)]

    assert found("q=w-") == ["W-1", "W-2", "w-loose"]  # a prefix, in any case
    assert found("product=WID-1") == ["W-1", "W-2"]
    assert found("product=WID-1&in_stock=yes") == ["W-1"]
    assert found("in_stock=no") == ["W-2", "w-loose"]
    assert found("customer=BOB") == ["W-2"]
    assert found("q=%25") == []  # '%' is a character, not a wildcard
    assert found("q=" + quote("\x00")) == ["G-1", "W-1", "W-2", "w-loose"]  # unprintable: no filter, no error


def test_search_is_paged(client, db, world):
    """Guards against a large result being shown at once or its second page being unreachable."""
    with db.Session.begin() as s:
        s.add_all(SerialNumber(serial=f"P-{n:03d}", in_stock=False) for n in range(60))
    first = client.get("/serials?q=P-").get_data(as_text=True)
    assert first.count('<td class="serial">') == 50 and "Page 1 of 2 (60)" in first
    second = client.get("/serials?q=P-&page=2").get_data(as_text=True)
    assert second.count('<td class="serial">') == 10 and "P-059" in second
    assert client.get("/serials?page=banana").status_code == 200
