"""Locations as records (SPEC 3c, issue 23): codes, parents, sites kept right, the refusals, and what is there.

Stock is put at a location with plain rows (a serial's ``location_id``, a
``stock_level`` row), as posting by location will write them.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from station.domain import catalogue, location_stock, locations
from station.domain.errors import Conflict, Invalid, NotFound, Refusal
from station.domain.models import FeedEvent, Location, SerialNumber, StockLevel


def site_of(session, code: str) -> str:
    return locations.read(session, code).site_code


def put_serial(session, serial: str, product_code: str | None, location: str) -> None:
    product = catalogue.get_product(session, product_code) if product_code else None
    session.add(SerialNumber(serial=serial, product=product, in_stock=True,
                             location_id=locations.get(session, location).id))
    session.flush()


def put_units(session, product_code: str, location: str, quantity: int) -> None:
    session.add(StockLevel(product_id=catalogue.get_product(session, product_code).id,
                           location_id=locations.get(session, location).id, quantity=quantity))
    session.flush()


@pytest.fixture
def shop(db):
    """NORTH (a site) with FLOOR, BACK and BACK-A1 under BACK; SOUTH (another site); products WID-1 and LOOSE."""
    with db.Session.begin() as s:
        locations.add(s, "NORTH", "North shop")
        locations.add(s, "FLOOR", "Shop floor", "NORTH")
        locations.add(s, "BACK", "Back room", "NORTH")
        locations.add(s, "BACK-A1", "Aisle A, bin 1", "BACK")
        locations.add(s, "SOUTH", "South shop")
        catalogue.create_product(s, "WID-1", "Widget")
        catalogue.create_product(s, "LOOSE", "Loose", serial_required_for_purchase=False)
    with db.Session() as s:
        yield s


def test_a_location_is_a_site_or_under_one_with_its_site_kept(shop):
    """Guards site_id: a site's is its own id, a child's its parent's site, at any depth."""
    s = shop
    assert [site_of(s, c) for c in ("NORTH", "FLOOR", "BACK", "BACK-A1", "SOUTH")] == [
        "NORTH", "NORTH", "NORTH", "NORTH", "SOUTH"]
    north = locations.get(s, "NORTH")
    assert north.parent_id is None and north.site_id == north.id


@pytest.mark.parametrize("code", [pytest.param("", id="empty"), pytest.param("A" * 33, id="too_long"),
                                  pytest.param("A B", id="space"), pytest.param("A/B", id="slash"),
                                  pytest.param("Ä1", id="not_ascii"), pytest.param(" A", id="leading_space"),
                                  pytest.param("LOC:A", id="colon")])
def test_a_code_that_cannot_be_scanned_as_loc_is_refused(db, code):
    """Guards SPEC 3c's code rule: 1-32 of A-Z a-z 0-9 . _ -, else invalid_field (nothing written)."""
    with db.Session() as s, pytest.raises(Invalid) as refused:
        locations.add(s, code, "Somewhere")
    assert refused.value.code == "invalid_field"


def test_every_allowed_character_and_32_of_them_make_a_code(db):
    """Guards the other edge: the longest code, with each kind of character allowed."""
    with db.Session.begin() as s:
        assert locations.add(s, "aZ09._-" + "x" * 25, "Long").code == "aZ09._-" + "x" * 25


def test_a_taken_code_an_unknown_or_deactivated_parent_are_refused(shop):
    """Guards add's refusals: duplicate (409), unknown_location (404), an inactive parent (invalid_field)."""
    s = shop
    with pytest.raises(Conflict, match="exists already"):
        locations.add(s, "FLOOR", "Again", "NORTH")
    with pytest.raises(NotFound) as unknown:
        locations.add(s, "X1", "X", "NOWHERE")
    assert unknown.value.code == "unknown_location"
    locations.set_active(s, locations.get(s, "SOUTH"), False)
    with pytest.raises(Refusal) as inactive:
        locations.add(s, "X1", "X", "SOUTH")
    assert inactive.value.code == "invalid_field" and "deactivated" in inactive.value.message


@pytest.mark.parametrize("target", ["BACK", "BACK-A1"])
def test_a_move_that_would_make_a_cycle_is_refused(shop, target):
    """Guards against a loop in the tree: a location under itself or under one of its own children."""
    with pytest.raises(Refusal) as refused:
        locations.move(shop, locations.get(shop, "BACK"), target)
    assert refused.value.code == "invalid_field"
    assert locations.get(shop, "BACK").parent_id == locations.get(shop, "NORTH").id


def test_moving_an_empty_subtree_to_another_site_keeps_every_site_right(shop):
    """Guards site_id of the whole subtree: BACK and BACK-A1 follow BACK to SOUTH; made a site, BACK is its own."""
    s = shop
    assert locations.move(s, locations.get(s, "BACK"), "SOUTH")
    assert (site_of(s, "BACK"), site_of(s, "BACK-A1"), site_of(s, "FLOOR")) == ("SOUTH", "SOUTH", "NORTH")
    locations.move(s, locations.get(s, "BACK"), None)
    assert (site_of(s, "BACK"), site_of(s, "BACK-A1")) == ("BACK", "BACK")
    assert locations.get(s, "BACK").parent_id is None


def test_a_location_holding_stock_may_move_within_its_site_but_not_become_or_join_another(shop):
    """Guards SPEC 3c: a location holding stock (here: a serial two levels down) is refused as a site
    (invalid_field), and under another site too (units change site only by a transfer); within its site it moves."""
    s = shop
    put_serial(s, "SN-1", "WID-1", "BACK-A1")
    for parent in (None, "SOUTH"):
        with pytest.raises(Refusal) as refused:
            locations.move(s, locations.get(s, "BACK"), parent)
        assert refused.value.code == "invalid_field" and "1 unit" in refused.value.message
    locations.move(s, locations.get(s, "BACK"), "FLOOR")
    assert site_of(s, "BACK-A1") == "NORTH" and locations.get(s, "BACK").parent.code == "FLOOR"


@pytest.mark.parametrize("stock", ["serial", "units"])
def test_a_location_holding_stock_below_cannot_be_deactivated(shop, stock):
    """Guards location_not_empty: a serial or unserialised units in the subtree keep it (and its parents) active."""
    s = shop
    if stock == "serial":
        put_serial(s, "SN-1", None, "BACK-A1")
    else:
        put_units(s, "LOOSE", "BACK-A1", 3)
    for code in ("BACK-A1", "BACK", "NORTH"):
        with pytest.raises(Refusal) as refused:
            locations.set_active(s, locations.get(s, code), False)
        assert refused.value.code == "location_not_empty", code
    assert locations.get(s, "BACK-A1").active


def test_deactivating_deactivates_everything_under_it_and_reactivating_needs_an_active_parent(shop):
    """Guards the tree: no active location under an inactive one; reactivation goes from the top down."""
    s = shop
    assert locations.set_active(s, locations.get(s, "BACK"), False) == sorted(
        [locations.get(s, "BACK").id, locations.get(s, "BACK-A1").id])
    assert not locations.get(s, "BACK-A1").active and locations.get(s, "FLOOR").active
    with pytest.raises(Refusal, match="reactivate BACK first"):
        locations.set_active(s, locations.get(s, "BACK-A1"), True)
    locations.set_active(s, locations.get(s, "BACK"), True)
    locations.set_active(s, locations.get(s, "BACK-A1"), True)
    assert locations.get(s, "BACK-A1").active


def test_what_is_here_and_below_by_product_and_serial(shop):
    """Guards the contents: units per product (serials plus unserialised units) and the serials, paged, for the
    subtree only; a serial with no product counts under none."""
    s = shop
    put_serial(s, "SN-2", "WID-1", "BACK-A1")
    put_serial(s, "SN-1", "WID-1", "BACK")
    put_serial(s, "SN-3", None, "BACK")
    put_serial(s, "SN-9", "WID-1", "FLOOR")
    put_units(s, "LOOSE", "BACK-A1", 4)
    back = locations.get(s, "BACK").id
    assert [(p.code, p.units) for p in location_stock.products(s, back)] == [("LOOSE", 4), ("WID-1", 2), (None, 1)]
    first, total = location_stock.serials(s, back, per_page=2)
    assert total == 3 and [(r.serial, r.location) for r in first] == [("SN-1", "BACK"), ("SN-2", "BACK-A1")]
    assert [r.serial for r in location_stock.serials(s, back, page=2, per_page=2)[0]] == ["SN-3"]
    north = location_stock.tree(s, root_id=locations.get(s, "NORTH").id)
    assert [(n.location.code, n.depth, n.here, n.total) for n in north] == [
        ("NORTH", 0, 0, 8), ("BACK", 1, 2, 7), ("BACK-A1", 2, 5, 5), ("FLOOR", 1, 1, 1)]


def test_every_change_is_one_location_changed_event_and_a_no_change_none(shop):
    """Guards the feed's half: add, rename, move and deactivate each write location.changed for every location
    whose record changed (a moved subtree's sites too), and an edit that changes nothing writes none."""
    s = shop
    before = s.scalar(select(FeedEvent.id).order_by(FeedEvent.id.desc()).limit(1))
    back, bin_ = locations.get(s, "BACK"), locations.get(s, "BACK-A1")
    locations.edit(s, back, name="Back room")  # the same name: nothing
    locations.edit(s, back, name="Store", parent="SOUTH")  # one event each for BACK and BACK-A1
    locations.edit(s, bin_, active=False)
    got = s.execute(select(FeedEvent.type, FeedEvent.subject, FeedEvent.subject_id)
                    .where(FeedEvent.id > before).order_by(FeedEvent.id)).all()
    assert got == [("location.changed", "location", back.id), ("location.changed", "location", bin_.id),
                   ("location.changed", "location", bin_.id)]
    assert s.scalar(select(Location.name).where(Location.id == back.id)) == "Store"
