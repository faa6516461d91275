"""Migration 0008 (locations) on a database with history made at 0007, on SQLite and PostgreSQL (issue 23).

The module's database is taken down to 0007 and filled as a station of that version filled it (receipts,
sales, a customer and a supplier return, adjustments of a serial and of units, a service check-in and a
check-out with a replacement: rows with the 0007 columns only), then brought up to the newest: every
unit in stock is at the one site MAIN, every movement names MAIN where a unit came in or left, and
``station check``, which recomputes places from the movements alone, finds no difference. The way down
(to 0007) works too, and up again.
"""
from __future__ import annotations

from alembic import command
from sqlalchemy import text

from station.domain import catalogue, documents, posting, stock
from station.domain.models import DocumentKind
from station.storage.db import alembic_config

NOW = "2026-06-30 10:00:00"
DOCS = [(1, "R-000001", "receipt", 1, None), (2, "S-000002", "sale", None, 1), (3, "CR-000003", "customer_return",
        None, 1), (4, "SR-000004", "supplier_return", 1, None), (5, "A-000005", "adjustment", None, None),
        (6, "S-000006", "sale", None, 1), (7, "SI-000007", "service_check_in", None, 1),
        (8, "SO-000008", "service_check_out", None, 1)]
# id, kind, product, serial, quantity, document, supplier, customer
MOVES = [(1, "receipt", 1, 1, 1, 1, 1, None), (2, "receipt", 1, 2, 1, 1, 1, None),
         (3, "receipt", 1, 3, 1, 1, 1, None), (4, "receipt", 1, 4, 1, 1, 1, None),
         (5, "receipt", 1, 5, 1, 1, 1, None), (6, "receipt", 2, None, 5, 1, 1, None),
         (7, "sale", 1, 1, -1, 2, None, 1), (8, "customer_return", 1, 1, 1, 3, None, 1),
         (9, "supplier_return", 1, 3, -1, 4, 1, None), (10, "supplier_return", 2, None, -1, 4, 1, None),
         (11, "adjustment", 2, None, -1, 5, None, None), (12, "adjustment", 1, 4, -1, 5, None, None),
         (13, "sale", 1, 2, -1, 6, None, 1), (14, "service_in", 1, 2, 0, 7, None, 1),
         (15, "replaced", 1, 2, 0, 8, None, 1), (16, "replacement", 1, 1, -1, 8, None, 1)]
# SN-1 replaced SN-2 and is the customer's; SN-2 is faulty and ours; SN-3 and SN-4 left; SN-5 is in stock.
SERIALS = [(1, "SN-1", 1, "false", "false"), (2, "SN-2", None, "false", "true"), (3, "SN-3", None, "false", "false"),
           (4, "SN-4", None, "false", "false"), (5, "SN-5", None, "true", "false")]


def _fill_0007(conn) -> None:
    conn.execute(text("INSERT INTO product (id, code, name, serial_required_for_purchase, serial_required_for_sales, "
                      "unserialised_on_hand, created_at) VALUES (1, 'PHONE', 'Phone', true, true, 0, :now), "
                      "(2, 'LOOSE', 'Loose', false, false, 3, :now)"), {"now": NOW})
    conn.execute(text("INSERT INTO supplier (id, code, name) VALUES (1, 'ACME', 'Acme Ltd')"))
    conn.execute(text("INSERT INTO customer (id, code, name) VALUES (1, 'JANE', 'Jane Doe')"))
    for doc_id, reference, kind, supplier, customer in DOCS:
        conn.execute(text("INSERT INTO document (id, reference, kind, status, supplier_id, customer_id, created_at, "
                          "posted_at, line_count, reason) VALUES (:id, :ref, :kind, 'posted', :sup, :cus, :now, :now, "
                          "1, :reason)"), {"id": doc_id, "ref": reference, "kind": kind, "sup": supplier,
                                           "cus": customer, "now": NOW,
                                           "reason": "stocktake" if kind == "adjustment" else None})
    for serial_id, serial, customer, in_stock, faulty in SERIALS:
        conn.execute(text(f"INSERT INTO serial_number (id, serial, product_id, customer_id, supplier_id, in_stock, "
                          f"faulty, created_at) VALUES (:id, :serial, 1, :cus, 1, {in_stock}, {faulty}, :now)"),
                     {"id": serial_id, "serial": serial, "cus": customer, "now": NOW})
    conn.execute(text("INSERT INTO document_line (id, document_id, line_no, product_id, serial, quantity, is_open, "
                      "replaces, created_at) VALUES (1, 8, 1, 1, 'SN-1', 1, false, 'SN-2', :now)"), {"now": NOW})
    for move in MOVES:
        conn.execute(text("INSERT INTO movement (id, at, kind, product_id, serial_id, quantity, document_id, "
                          "supplier_id, customer_id) VALUES (:id, :now, :kind, :p, :s, :q, :d, :sup, :cus)"),
                     dict(zip(("id", "kind", "p", "s", "q", "d", "sup", "cus"), move, strict=True), now=NOW))
    if conn.dialect.name == "postgresql":  # the rows came with their ids: the sequences follow, as a station's would
        for table in ("product", "supplier", "customer", "document", "serial_number", "movement", "document_line"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def _columns(db, table: str) -> set[str]:
    with db.engine.connect() as conn:
        return {row[0] for row in conn.execute(text(
            f"SELECT name FROM pragma_table_info('{table}')" if db.backend == "sqlite" else
            f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' "
            "AND table_schema = current_schema()"))}


def test_0008_puts_a_station_s_history_at_main_and_check_agrees(db):
    """Guards the upgrade of a working station (issue 23): all its stock at MAIN, check clean at once and after
    the first posting; and the way down to 0007 and up again."""
    cfg = alembic_config(db.engine)
    command.downgrade(cfg, "0007")
    try:
        with db.engine.begin() as conn:
            _fill_0007(conn)
    finally:
        command.upgrade(cfg, "head")
    with db.engine.connect() as conn:
        at = dict(conn.execute(text("SELECT s.serial, l.code FROM serial_number s LEFT JOIN location l "
                                    "ON l.id = s.location_id")).all())
        levels = conn.execute(text("SELECT p.code, l.code, q.quantity FROM stock_level q JOIN product p ON "
                                   "p.id = q.product_id JOIN location l ON l.id = q.location_id")).all()
        named = conn.execute(text("SELECT count(*) FROM movement m JOIN location l ON l.code = 'MAIN' WHERE "
                                  "(m.quantity > 0 AND m.to_location_id = l.id AND m.from_location_id IS NULL) OR "
                                  "(m.quantity < 0 AND m.from_location_id = l.id AND m.to_location_id IS NULL) OR "
                                  "(m.quantity = 0 AND m.from_location_id IS NULL AND m.to_location_id IS NULL)"
                                  )).scalar_one()
    assert at == {"SN-1": None, "SN-2": None, "SN-3": None, "SN-4": None, "SN-5": "MAIN"}
    assert [tuple(r) for r in levels] == [("LOOSE", "MAIN", 3)]
    assert named == len(MOVES)
    with db.Session() as s:
        assert stock.check(s) == []
    with db.Session.begin() as s:  # the first sale after the upgrade takes the unit from MAIN
        sale = documents.open_document(s, DocumentKind.sale, customer=catalogue.get_party(s, "customer", "JANE"))
        documents.add_line(s, sale, serial="SN-5")
        documents.add_line(s, sale, product=catalogue.get_product(s, "LOOSE"), quantity=2)
        posting.post(s, sale)
    with db.Session() as s:
        assert stock.check(s) == []
    command.downgrade(cfg, "0007")
    try:
        assert "location_id" not in _columns(db, "serial_number")
        assert not {"from_location_id", "to_location_id"} & _columns(db, "movement")
        assert not _columns(db, "location") and not _columns(db, "stock_level")
    finally:
        command.upgrade(cfg, "head")
    with db.Session() as s:
        assert stock.check(s) == []
