"""Serial numbers reserved for labels are never issued twice."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from station.domain import catalogue
from station.domain.models import SerialNumber
from station.domain.reservation import reserve


def test_reserve_numbers_in_sequence(db):
    """Two reservations in a row continue the sequence, and each number becomes a serial of the product."""
    with db.Session.begin() as s:
        p = catalogue.create_product(s, "WID-1", "Widget")
        first = reserve(s, p, 3)
        second = reserve(s, p, 2)
    assert first == ["WID-1-000001", "WID-1-000002", "WID-1-000003"]
    assert second == ["WID-1-000004", "WID-1-000005"]
    with db.Session() as s:
        rows = s.scalars(select(SerialNumber).order_by(SerialNumber.serial)).all()
        assert [r.serial for r in rows] == first + second
        assert all(r.product.code == "WID-1" and not r.in_stock for r in rows)


def test_reserve_skips_numbers_taken_by_hand(db):
    """A serial typed in by hand with the next number is skipped, not issued again."""
    from station.domain.serials import create_serial

    with db.Session.begin() as s:
        p = catalogue.create_product(s, "WID-1", "Widget")
        create_serial(s, "L-000002")
        got = reserve(s, p, 3, prefix="L-")
    assert got == ["L-000001", "L-000003", "L-000004"]


@pytest.mark.parametrize("count", [0, 10_001], ids=["zero", "too_many"])
def test_reserve_refuses_bad_counts(db, count):
    """A count outside 1..10000 is refused with a code, and nothing is reserved."""
    from station.domain.errors import Refusal

    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget")
    with db.Session() as s, pytest.raises(Refusal) as exc:
        reserve(s, catalogue.get_product(s, "WID-1"), count)
    assert exc.value.code == "invalid_quantity"


def test_concurrent_reservations_never_overlap(db):
    """Eight stations reserving at once (real connections, one barrier) get disjoint serials."""
    if db.backend != "postgresql":
        pytest.skip("concurrency across connections is the PostgreSQL case; SQLite serialises writers")
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget")
    barrier = threading.Barrier(8)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def station() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(5):
                with db.Session.begin() as s:
                    p = catalogue.get_product(s, "WID-1")
                    results.append(reserve(s, p, 10))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=station) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    issued = [s for batch in results for s in batch]
    assert len(issued) == 8 * 5 * 10
    assert len(set(issued)) == len(issued)
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(SerialNumber)) == len(issued)
