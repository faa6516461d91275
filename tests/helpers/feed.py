"""The integration feed's events made for the tests that read it (webhooks, ``/api/events``, EPCIS)."""
from __future__ import annotations

from station.domain import catalogue, events, stock


def post_adjustments(db, n: int, quantity: int = 1, reason: str = "count") -> list[int]:
    """``n`` adjustments of LOOSE by ``quantity``, each its own document posted in its own transaction (one
    ``document.posted`` event each): their event ids."""
    ids = []
    for i in range(n):
        with db.Session.begin() as s:
            stock.adjust_product(s, catalogue.get_product(s, "LOOSE"), quantity, f"{reason} {i}")
            ids.append(events.last_id(s))
    return ids
