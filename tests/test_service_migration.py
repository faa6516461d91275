"""Migration 0004 on a database that already holds stock, sales and returns, on SQLite and PostgreSQL.

The module's database is taken down to 0003, filled as a station of that
version filled it (rows written with the 0003 columns only), and brought up
to the newest again: ``station check`` then finds no difference, so the
service desk's columns agree with the movements from the first moment; and
the way down (0004 -> 0003) works too.
"""
from __future__ import annotations

from alembic import command
from sqlalchemy import text

from station.domain import catalogue, documents, posting, serials, stock
from station.domain.models import DocumentKind
from station.domain.warranty import add_months, utc_today
from station.storage.db import alembic_config

NOW = "2026-01-31 10:00:00"
ROWS = [
    "INSERT INTO product (id, code, name, serial_required_for_purchase, serial_required_for_sales, "
    "unserialised_on_hand, created_at) VALUES (1, 'PHONE', 'Phone', true, true, 0, :now)",
    "INSERT INTO supplier (id, code, name) VALUES (1, 'ACME', 'Acme Ltd')",
    "INSERT INTO customer (id, code, name) VALUES (1, 'JANE', 'Jane Doe')",
    "INSERT INTO document (id, reference, kind, status, supplier_id, created_at, posted_at, line_count) "
    "VALUES (1, 'R-000001', 'receipt', 'posted', 1, :now, :now, 2)",
    "INSERT INTO document (id, reference, kind, status, customer_id, created_at, posted_at, line_count) "
    "VALUES (2, 'S-000002', 'sale', 'posted', 1, :now, :now, 1)",
    "INSERT INTO serial_number (id, serial, product_id, customer_id, supplier_id, in_stock, created_at) "
    "VALUES (1, 'SN-1', 1, 1, 1, false, :now), (2, 'SN-2', 1, NULL, 1, true, :now)",
    "INSERT INTO movement (id, at, kind, product_id, serial_id, quantity, document_id, supplier_id, customer_id) "
    "VALUES (1, :now, 'receipt', 1, 1, 1, 1, 1, NULL), (2, :now, 'receipt', 1, 2, 1, 1, 1, NULL), "
    "(3, :now, 'sale', 1, 1, -1, 2, NULL, 1)",
]


def test_0004_fills_a_database_with_history_so_check_agrees(db):
    """Guards the upgrade of a working station: check clean at once, warranties none, nothing in service."""
    cfg = alembic_config(db.engine)
    command.downgrade(cfg, "0003")
    try:
        with db.engine.begin() as conn:
            for statement in ROWS:
                conn.execute(text(statement), {"now": NOW})
    finally:
        command.upgrade(cfg, "head")
    if db.backend == "postgresql":  # the rows came with their ids: the sequences follow them, as a station's would
        with db.engine.begin() as conn:
            for table in ("product", "supplier", "customer", "document", "serial_number", "movement"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    with db.Session() as s:
        assert stock.check(s) == []
        sold = serials.get_serial(s, "SN-1")
        assert (sold.in_service, sold.faulty, sold.warranty_until) == (False, False, None)
        assert catalogue.get_product(s, "PHONE").warranty_months == 0
        assert s.execute(text("SELECT warranty_months FROM movement WHERE kind = 'sale'")).scalar_one() is None
    # The first sale after the upgrade, once the product has a warranty, gives one.
    with db.Session.begin() as s:
        catalogue.update_product(s, catalogue.get_product(s, "PHONE"), warranty_months=12)
        sale = documents.open_document(s, DocumentKind.sale, customer=catalogue.get_party(s, "customer", "JANE"))
        documents.add_line(s, sale, serial="SN-2")
        posting.post(s, sale)
    with db.Session() as s:
        assert serials.get_serial(s, "SN-2").warranty_until == add_months(utc_today(), 12)
        assert serials.get_serial(s, "SN-1").warranty_until is None
        assert stock.check(s) == []


def test_0004_goes_down_and_up_again(db):
    """Guards the way back on a station with history: 0004 -> 0003 drops the desk's columns and index (on SQLite
    too, where the movements' foreign keys forbid copying serial_number), and the upgrade adds them again."""
    with db.Session.begin() as s:
        phone = catalogue.create_product(s, "PHONE", "Phone", warranty_months=12)
        receipt = documents.open_document(s, DocumentKind.receipt, supplier=catalogue.create_party(
            s, "supplier", "ACME", "Acme Ltd"))
        documents.add_line(s, receipt, product=phone, serial="SN-1")
        posting.post(s, receipt)
    cfg = alembic_config(db.engine)
    command.downgrade(cfg, "0003")
    try:
        with db.engine.connect() as conn:
            columns = {row[0] for row in conn.execute(text(
                "SELECT name FROM pragma_table_info('serial_number')" if db.backend == "sqlite" else
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'serial_number' "
                "AND table_schema = current_schema()"))}
        assert not {"in_service", "faulty", "warranty_until"} & columns
    finally:
        command.upgrade(cfg, "head")
    with db.Session() as s:
        assert serials.get_serial(s, "SN-1").in_stock and stock.check(s) == []
