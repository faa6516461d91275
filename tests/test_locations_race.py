"""Two clerks rearranging the tree at once on PostgreSQL (issue 23): no cycle, whoever wins.

A moves under B while B moves under A, each in its own transaction on its
own connection, lined up by a barrier so that both read the tree before
either commits. Each sees no cycle in the tree as it was; the tree's lock
(locations.lock_tree) makes the second wait and read it again, so exactly
one move is made and the other refused with ``invalid_field``.
"""
from __future__ import annotations

import threading

import pytest
from helpers.database import POSTGRES_ONLY

from station.domain import location_stock, locations
from station.domain.errors import Refusal

pytestmark = [pytest.mark.slow, POSTGRES_ONLY]

ROUNDS = 20


def test_two_moves_that_together_make_a_cycle_never_both_succeed(db):
    """Guards the tree against a loop made by two moves in parallel (each valid alone)."""
    for n in range(ROUNDS):
        a, b = f"A{n}", f"B{n}"
        with db.Session.begin() as s:
            locations.add(s, f"S{n}", "Site")
            locations.add(s, a, "A", f"S{n}")
            locations.add(s, b, "B", f"S{n}")
        barrier = threading.Barrier(2, timeout=10)
        outcomes: dict[str, str] = {}

        def move(code: str, under: str, barrier=barrier, outcomes=outcomes) -> None:
            try:
                with db.Session.begin() as s:
                    location = locations.get(s, code)  # read before the other commits
                    barrier.wait()
                    locations.move(s, location, under)
                outcomes[code] = "moved"
            except Refusal as refusal:
                outcomes[code] = refusal.code

        threads = [threading.Thread(target=move, args=(a, b)), threading.Thread(target=move, args=(b, a))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert sorted(outcomes.values()) == ["invalid_field", "moved"], outcomes
        with db.Session() as s:
            ids = location_stock.subtree_ids(s, locations.get(s, f"S{n}").id)
            assert len(ids) == len(set(ids)) == 3
