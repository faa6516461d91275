"""A movement's references hold as its foreign keys say, on both databases (migration 0011, issue 22).

On SQLite they are the foreign keys. On PostgreSQL the seven are checked a statement at a time by triggers
(a 30,000-line receipt's movements are one INSERT: one check per column, not 210,000): these tests hold both to
what a foreign key does. A movement naming a row that is not there is refused, one bad row refuses its whole
statement, an UPDATE of a movement is checked like an INSERT, a row a movement names can neither be deleted nor
have its id changed, one no movement names can; and (PostgreSQL) the writer's transaction holds what its
movements name, as a foreign key's KEY SHARE lock does, so a delete waits for it and is then refused.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from station.domain.models import Customer, Document, Location, Movement, Product, SerialNumber, Supplier

M = Movement.__table__
NOW = datetime(2026, 1, 2, tzinfo=UTC)
#: A movement's key columns, the table each names.
KEYS = {"product_id": Product, "serial_id": SerialNumber, "document_id": Document, "supplier_id": Supplier,
        "customer_id": Customer, "from_location_id": Location, "to_location_id": Location}


@pytest.fixture
def named(db):
    """One row of each table a movement names (the site MAIN is the location), committed: column -> id."""
    with db.Session.begin() as s:
        product = Product(code="P-1", name="P")
        supplier, customer = Supplier(code="SUP-1", name="S"), Customer(code="CUS-1", name="C")
        s.add_all([product, supplier, customer])
        s.flush()
        serial = SerialNumber(serial="SN-1", product_id=product.id)
        document = Document(reference="R-1", kind="receipt", status="posted")
        s.add_all([serial, document])
        s.flush()
        main = s.scalar(select(Location.id).where(Location.code == "MAIN"))
        return {"product_id": product.id, "serial_id": serial.id, "document_id": document.id,
                "supplier_id": supplier.id, "customer_id": customer.id, "from_location_id": main,
                "to_location_id": main}


def movement(**keys) -> dict:
    """A movement's row naming ``keys`` (every other key NULL)."""
    return {"at": NOW, "kind": "receipt", "quantity": 1} | dict.fromkeys(KEYS) | keys


def test_movements_naming_rows_that_exist_are_written(db, named):
    """Guards against the checks refusing what a foreign key allows: every key set, or all NULL, many rows."""
    with db.Session.begin() as s:
        s.execute(insert(M), [movement(**named), movement(), movement(**named)])
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(M)) == 3


@pytest.mark.parametrize("column", sorted(KEYS))
def test_a_movement_naming_a_missing_row_is_refused_with_its_statement(db, named, column):
    """Guards each key on INSERT: one row among good ones naming a missing row refuses the statement."""
    with pytest.raises(IntegrityError) as refused, db.Session.begin() as s:
        s.execute(insert(M), [movement(**named), movement(**named | {column: 999_999}), movement()])
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(M)) == 0
    if db.backend == "postgresql":  # the constraint a foreign key would name (migration 0013's one query says which)
        diag, table = refused.value.orig.diag, KEYS[column].__tablename__
        assert diag.constraint_name == f"fk_movement_{column}_{table}"
        assert diag.message_detail == f'A key in column {column} is not present in table "{table}".'


@pytest.mark.parametrize("column", ["product_id", "serial_id", "to_location_id"])
def test_a_movement_changed_to_name_a_missing_row_is_refused(db, named, column):
    """Guards the check on UPDATE: a movement's key changed to a row that is not there."""
    with db.Session.begin() as s:
        s.execute(insert(M), [movement(**named)])
    with pytest.raises(IntegrityError), db.Session.begin() as s:
        s.execute(update(M).values({column: 999_999}))


@pytest.mark.parametrize("column", sorted(KEYS))
def test_a_row_a_movement_names_is_not_deleted(db, named, column):
    """Guards the parent's side (NO ACTION): delete refused while a movement names the row, allowed after."""
    table = KEYS[column].__table__
    with db.Session.begin() as s:
        s.execute(insert(M), [movement(**{column: named[column]})])
    with pytest.raises(IntegrityError), db.Session.begin() as s:
        s.execute(table.delete().where(table.c.id == named[column]))
    with db.Session.begin() as s:
        s.execute(M.delete())
        if table is Product.__table__:  # the serial names it too
            s.execute(SerialNumber.__table__.delete())
        if table is Location.__table__:  # the site names itself
            s.execute(update(table).values(site_id=None))
        s.execute(table.delete().where(table.c.id == named[column]))


def test_the_id_of_a_row_a_movement_names_is_not_changed(db, named):
    """Guards the parent's side on UPDATE of its key (a change of anything else is no concern of the keys)."""
    S = Supplier.__table__
    with db.Session.begin() as s:
        s.execute(insert(M), [movement(supplier_id=named["supplier_id"])])
        s.execute(update(S).where(S.c.id == named["supplier_id"]).values(name="Renamed"))
    with pytest.raises(IntegrityError), db.Session.begin() as s:
        s.execute(update(S).where(S.c.id == named["supplier_id"]).values(id=named["supplier_id"] + 1000))


def test_a_row_made_in_the_movements_transaction_is_named(db, named):
    """Guards what posting relies on: a serial made earlier in the same transaction is found by the check."""
    with db.Session.begin() as s:
        serial = SerialNumber(serial="SN-NEW")
        s.add(serial)
        s.flush()
        s.execute(insert(M), [movement(serial_id=serial.id)])


def test_a_delete_waits_for_the_movements_transaction_then_is_refused(db, named):
    """Guards the lock (PostgreSQL): the writer holds what its movements name until it ends, as KEY SHARE does."""
    if db.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing to race")
    P = Product.__table__
    with db.engine.connect() as writer, db.engine.connect() as deleter:
        writer.execute(insert(M), [movement(product_id=named["product_id"])])
        deleter.execute(text("SET lock_timeout = '50ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            deleter.execute(P.delete().where(P.c.id == named["product_id"]))
        deleter.rollback()
        writer.commit()
        with pytest.raises(IntegrityError):
            deleter.execute(P.delete().where(P.c.id == named["product_id"]))
