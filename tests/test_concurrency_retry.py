"""Deadlocks and serialization failures are retried, never shown (issue 6 item 1).

Real PostgreSQL transactions are forced into each failure -- two of them
locking two rows in opposite orders, two SERIALIZABLE ones writing on what
the other read -- and ``run_in_transaction`` must carry both through. The
same goes for two stations whose postings deadlock: each operator sees the
document posted, as if nothing had happened.
"""
from __future__ import annotations

import threading

import pytest
from helpers.database import POSTGRES_ONLY, create_database
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from station.config import from_dict
from station.domain import catalogue, stock
from station.domain.models import Product
from station.scanning.service import ScanService
from station.storage.retry import is_retryable, run_in_transaction


def _two_products(db) -> tuple[int, int]:
    with db.Session.begin() as s:
        a = catalogue.create_product(s, "A", "A", serial_required_for_purchase=False,
                                     serial_required_for_sales=False, barcodes=["BAR-A"])
        b = catalogue.create_product(s, "B", "B", serial_required_for_purchase=False,
                                     serial_required_for_sales=False, barcodes=["BAR-B"])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        return a.id, b.id


def _both(work) -> list[BaseException]:
    """Run ``work(0)`` and ``work(1)`` on two threads; the exceptions they raised."""
    errors: list[BaseException] = []

    def body(k: int) -> None:
        try:
            work(k)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return errors


@POSTGRES_ONLY
def test_forced_deadlock_is_retried(db):
    """Two transactions lock two rows in opposite orders: PostgreSQL kills one (40P01); it is run again and both
    commit."""
    ids = _two_products(db)
    both_hold_one = threading.Barrier(2)
    attempts = [0, 0]

    def work(k: int) -> None:
        first, second = (ids[0], ids[1]) if k == 0 else (ids[1], ids[0])

        def fn(session):
            attempts[k] += 1
            session.execute(select(Product.id).where(Product.id == first).with_for_update())
            if attempts[k] == 1:
                both_hold_one.wait(timeout=10)  # now each waits for the row the other holds
            session.execute(select(Product.id).where(Product.id == second).with_for_update())
            session.execute(update(Product).where(Product.id == first).values(name=f"by {k}"))

        run_in_transaction(db.Session, fn, base_delay=0.001)

    assert _both(work) == []
    assert max(attempts) >= 2, "the deadlock victim was run again"
    with db.Session() as s:
        assert [s.get(Product, i).name for i in ids] == ["by 0", "by 1"], "both committed their work"


@POSTGRES_ONLY
def test_serialization_failure_is_retried(db):
    """Two SERIALIZABLE transactions each write what the other read (write skew): the loser (40001) is run again."""
    ids = _two_products(db)
    both_read = threading.Barrier(2)
    attempts = [0, 0]

    def work(k: int) -> None:
        def fn(session):
            attempts[k] += 1
            session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
            total = session.scalar(text("SELECT sum(unserialised_on_hand) FROM product WHERE id IN (:a, :b)"),
                                   {"a": ids[0], "b": ids[1]})
            if attempts[k] == 1:
                both_read.wait(timeout=10)
            session.execute(update(Product).where(Product.id == ids[k]).values(unserialised_on_hand=total + 1))

        run_in_transaction(db.Session, fn, base_delay=0.001)

    assert _both(work) == []
    assert max(attempts) >= 2
    with db.Session() as s:
        # Run one after the other, as SERIALIZABLE promises: 0 -> 1, then 1 -> 2.
        assert sorted(s.scalars(select(Product.unserialised_on_hand).where(Product.id.in_(ids)))) == [1, 2]


@POSTGRES_ONLY
def test_postings_in_opposite_orders_wait_rather_than_deadlock(db):
    """Two receipts of units of A and B (scanned in opposite orders) posted at once: posting takes the
    product rows in id order, so the second waits for the first's row and both post at the first attempt."""
    _two_products(db)
    service = ScanService(from_dict({"stations": [{"id": "in0", "mode": "receive"}, {"id": "in1", "mode": "receive"}]}))
    for k, order in enumerate((("BAR-A", "BAR-B"), ("BAR-B", "BAR-A"))):
        for raw in ("SUP:ACME", *order):
            with db.Session.begin() as s:
                assert service.process(s, f"in{k}", raw).accepted
    # in0 holds its first product row until in1 is about to update a product row: in1's first must be the
    # same row (the lower id), which it then waits for; were it the other, the two would deadlock.
    role = threading.local()
    in1_updating = threading.Event()
    first: dict[int, object] = {}  # each posting's first product row update

    def before(conn, cursor, statement, parameters, context, executemany):
        k = getattr(role, "k", None)
        if statement.startswith("UPDATE product SET unserialised_on_hand") and k is not None:
            first.setdefault(k, parameters)
            if k == 1:
                in1_updating.set()

    def after(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE product SET unserialised_on_hand") and getattr(role, "k", None) == 0 \
                and not getattr(role, "paused", False):
            role.paused = True
            assert in1_updating.wait(timeout=10), "in1 never reached its product update"

    attempts = [0, 0]
    results = [None, None]

    def work(k: int) -> None:
        role.k = k

        def fn(session):
            attempts[k] += 1
            return service.process(session, f"in{k}", "CMD:FINISH")

        results[k] = run_in_transaction(db.Session, fn, base_delay=0.001)

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        assert _both(work) == []
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    assert [r.accepted for r in results] == [True, True], results
    assert all(r.document["status"] == "posted" for r in results)
    assert attempts == [1, 1], "a posting deadlocked and was run again"
    assert first[0] == first[1], "both postings took the same product row first"

    with db.Session() as s:
        assert sorted(s.scalars(select(Product.unserialised_on_hand))) == [2, 2]
        assert stock.check(s) == []


class _Orig(Exception):
    def __init__(self, sqlstate: str | None):
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _error(sqlstate: str | None, cls=OperationalError):
    return cls("SELECT 1", {}, _Orig(sqlstate))


@pytest.mark.parametrize("sqlstate, retried", [
    pytest.param("40P01", True, id="deadlock_detected"),
    pytest.param("40001", True, id="serialization_failure"),
    pytest.param("57P01", False, id="admin_shutdown"),
    pytest.param("23505", False, id="unique_violation"),
])
def test_which_errors_are_retried(sqlstate, retried):
    """Only "run it again" errors are retried; a broken connection or a violated constraint is raised at once."""
    assert is_retryable(_error(sqlstate)) is retried


@POSTGRES_ONLY
def test_retries_give_up_and_other_errors_pass_through(db):
    """A failure that keeps coming is raised after the last attempt; a non-retryable one after the first."""
    calls = []

    def always_deadlocks(session):
        calls.append(1)
        raise _error("40P01")

    with pytest.raises(OperationalError):
        run_in_transaction(db.Session, always_deadlocks, attempts=3, sleep=lambda s: None)
    assert len(calls) == 3
    calls.clear()

    def violates(session):
        calls.append(1)
        raise _error("23505", IntegrityError)

    with pytest.raises(IntegrityError):
        run_in_transaction(db.Session, violates, sleep=lambda s: None)
    assert len(calls) == 1


@POSTGRES_ONLY
def test_retry_backs_off_with_jitter(db):
    """The waits between attempts grow and are random, so colliding stations do not collide again in step."""
    waits: list[float] = []
    calls = []

    def flaky(session):
        calls.append(1)
        if len(calls) < 5:
            raise _error("40001")
        return "done"

    assert run_in_transaction(db.Session, flaky, attempts=5, base_delay=0.01, max_delay=1.0,
                              sleep=waits.append) == "done"
    assert len(waits) == 4
    assert all(0 <= w <= 0.01 * 2 ** n for n, w in enumerate(waits))


def test_sqlite_transactions_of_one_process_take_turns(tmp_path):
    """On SQLite a transaction waits for its turn in-process, holding no connection, and starts once the turn is free.

    Without the queue it would sit in SQLite's busy handler, which sleeps up to
    100 ms between looks at the lock: that made the p99 of four stations in one
    daemon hundreds of milliseconds.
    """
    from station.storage.retry import writer_turn

    db = create_database("sqlite", tmp_path)
    try:
        entered = threading.Event()

        def other() -> None:
            run_in_transaction(db.Session, lambda session: (session.execute(text("SELECT 1")), entered.set()))

        with writer_turn(db.Session):
            t = threading.Thread(target=other)
            t.start()
            # A deliberate pause, not a wait: 0.3 s in which a writer that ignored the turn would have started
            # (that something does not happen cannot be waited for).
            assert not entered.wait(timeout=0.3), "a second writer started while the turn was taken"
            assert db.engine.pool.checkedout() == 0, "the waiting writer holds a connection"
        assert entered.wait(timeout=10), "the waiting writer did not start when the turn was freed"
        t.join(timeout=10)
        with writer_turn(db.Session), writer_turn(db.Session):
            pass  # re-entrant: a thread never waits for itself
    finally:
        db.close()
