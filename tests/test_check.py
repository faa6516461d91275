"""``station check`` (stock.check): the materialised stock agrees with the movements, on SQLite and PostgreSQL.

After every kind of flow there is no difference; after tampering with
``in_stock``, ``unserialised_on_hand`` or a movement behind the domain's
back, check reports exactly that difference and nothing else.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from station.domain import catalogue, documents, posting, serials, stock
from station.domain.models import DocumentKind
from station.domain.stock import Difference


def mixed_flows(session) -> None:
    """Receipts, sales, returns, adjustments, a product change and a rule-4 sale, committed."""
    catalogue.create_product(session, "WID-1", "Widget")
    catalogue.create_product(session, "GAD-1", "Gadget")
    loose = catalogue.create_product(session, "LOOSE", "Loose part", serial_required_for_purchase=False)
    acme = catalogue.create_party(session, "supplier", "ACME", "Acme Ltd")
    bob = catalogue.create_party(session, "customer", "BOB", "Bob")
    widget = catalogue.get_product(session, "WID-1")

    def post(kind, *lines, **kw):
        doc = documents.open_document(session, kind, **kw)
        for line in lines:
            documents.add_line(session, doc, **line)
        posting.post(session, doc)

    post(DocumentKind.receipt, *({"product": widget, "serial": f"SN-{n}"} for n in range(1, 5)),
         {"product": loose, "quantity": 5}, supplier=acme)
    post(DocumentKind.sale, {"serial": "SN-1"}, {"serial": "SN-2"}, customer=bob)           # SN-1, SN-2 sold
    post(DocumentKind.customer_return, {"serial": "SN-2"})                                 # SN-2 back
    post(DocumentKind.supplier_return, {"serial": "SN-3"}, {"product": loose, "quantity": 1},
         supplier=acme)                                                                    # SN-3 out, LOOSE 4
    serials.update_serial(session, serials.get_serial(session, "SN-4"), product="GAD-1")  # pair of adjustments
    serials.create_serial(session, "HM-1", product="LOOSE")
    post(DocumentKind.sale, {"serial": "HM-1"}, customer=bob)                              # takes one: LOOSE 3
    serials.adjust_serial(session, serials.get_serial(session, "SN-2"), "out", "damaged")  # SN-2 out
    stock.adjust_product(session, loose, 2, "found")                                       # LOOSE 5
    serials.create_serial(session, "IDLE-1")                                   # never moved
    cancelled = documents.open_document(session, DocumentKind.receipt, supplier=acme)
    documents.add_line(session, cancelled, product=widget, serial="SN-9")
    documents.cancel(session, cancelled)
    session.commit()


def test_no_difference_after_every_kind_of_flow(session):
    """Guards against check crying wolf: every domain flow keeps the materialised stock true."""
    mixed_flows(session)
    assert stock.check(session) == []
    in_stock = {s: serials.get_serial(session, s).in_stock for s in ("SN-1", "SN-2", "SN-3", "SN-4", "HM-1", "IDLE-1")}
    assert in_stock == {"SN-1": False, "SN-2": False, "SN-3": False, "SN-4": True, "HM-1": False, "IDLE-1": False}
    assert catalogue.get_product(session, "LOOSE").unserialised_on_hand == 5


def test_empty_database_has_no_difference(session):
    """Guards against check failing on a fresh database."""
    assert stock.check(session) == []


SERIAL_ID = "(SELECT id FROM serial_number WHERE serial = '{}')"
PRODUCT_ID = "(SELECT id FROM product WHERE code = '{}')"


@pytest.mark.parametrize(
    "tamper, expected",
    [
        pytest.param("UPDATE serial_number SET in_stock = false WHERE serial = 'SN-4'",
                     [Difference("serial", "SN-4", 0, 1)], id="in_stock_cleared"),
        pytest.param("UPDATE serial_number SET in_stock = true WHERE serial = 'SN-1'",
                     [Difference("serial", "SN-1", 1, 0)], id="in_stock_set_on_sold_serial"),
        pytest.param("UPDATE serial_number SET in_stock = true WHERE serial = 'IDLE-1'",
                     [Difference("serial", "IDLE-1", 1, 0)], id="in_stock_set_on_never_moved_serial"),
        pytest.param("UPDATE product SET unserialised_on_hand = 7 WHERE code = 'LOOSE'",
                     [Difference("product", "LOOSE", 7, 5)], id="unserialised_on_hand_changed"),
        pytest.param("UPDATE product SET unserialised_on_hand = 1 WHERE code = 'WID-1'",
                     [Difference("product", "WID-1", 1, 0)], id="unserialised_on_hand_on_product_without_movements"),
        pytest.param("UPDATE movement SET quantity = 2 WHERE kind = 'receipt'"
                     f" AND serial_id = {SERIAL_ID.format('SN-4')}",
                     [Difference("serial", "SN-4", 1, 2)], id="serial_movement_quantity_changed"),
        pytest.param(f"DELETE FROM movement WHERE kind = 'sale' AND serial_id = {SERIAL_ID.format('SN-1')}",
                     [Difference("serial", "SN-1", 0, 1), Difference("serial", "SN-1", "none", "MAIN", "location")],
                     id="serial_movement_deleted"),  # the sale took it from MAIN: without it, it is there still
        pytest.param(f"UPDATE movement SET quantity = 9 WHERE serial_id IS NULL AND kind = 'receipt' "
                     f"AND product_id = {PRODUCT_ID.format('LOOSE')}",
                     [Difference("product", "LOOSE", 5, 9), Difference("units", "LOOSE at MAIN", 5, 9)],
                     id="unserialised_movement_changed"),
        pytest.param(f"UPDATE movement SET product_id = {PRODUCT_ID.format('WID-1')} WHERE serial_id IS NULL "
                     f"AND kind = 'receipt' AND product_id = {PRODUCT_ID.format('LOOSE')}",
                     [Difference("product", "LOOSE", 5, 0), Difference("product", "WID-1", 0, 5),
                      Difference("units", "LOOSE at MAIN", 5, 0), Difference("units", "WID-1 at MAIN", 0, 5)],
                     id="unserialised_movement_moved_to_other_product"),
    ],
)
def test_check_reports_exactly_the_tampered_figure(db, session, tamper, expected):
    """Guards against a materialised figure drifting from the movements unnoticed, or check naming the wrong one."""
    mixed_flows(session)
    with db.engine.begin() as conn:
        conn.execute(text(tamper))
    with db.Session() as fresh:
        assert sorted(stock.check(fresh), key=lambda d: (d.what, d.key)) == expected


def test_difference_reads_as_a_sentence():
    """Guards against `station check` printing a difference nobody can act on."""
    assert str(Difference("serial", "SN-4", 0, 1)) == "serial SN-4: stored 0, movements say 1"
