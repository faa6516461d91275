"""Places in the JSON (SPEC 3c, 5): a serial's ``location`` and ``in_transit``, movements' ``from_location`` and
``to_location`` everywhere a movement is written (the API's serial and document, the export, the
document.posted event), a transfer's ``destination`` and ``units``, a count's findings, a line's places;
every answer checked against the OpenAPI document by the test client."""
from __future__ import annotations

from helpers.places import line, opened, place, post
from test_post_locations import party, product, receive

from station.domain import catalogue, events, posting
from station.domain.vocabulary import DocumentKind as K
from station.interchange.export import movement_rows


def shop(s) -> None:
    for code, parent in (("A", "MAIN"), ("A-01", "A"), ("A-02", "A"), ("B-01", "MAIN"), ("NORTH", None),
                         ("N-01", "NORTH")):
        place(s, code, parent)
    catalogue.create_product(s, "WID-1", "Widget")
    catalogue.create_product(s, "LOOSE", "Loose", serial_required_for_purchase=False, serial_required_for_sales=False)
    catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    catalogue.create_party(s, "customer", "BOB", "Bob")
    s.flush()


def test_serial_location_and_in_transit(client, db):
    """Guards the serial's JSON: where it is ({code, name, site}), in_transit while on a transfer, and its moves."""
    with db.Session.begin() as s:
        shop(s)
        receive(s, ("SN-1", "A-01"), ("SN-2", "A-02"))
        post(s, K.move, {"serial": "SN-1", "at": "B-01"}, at="A-01")
        post(s, K.transfer, {"serial": "SN-2", "at": "NORTH"}, at="NORTH")
    one = client.get("/api/serials/SN-1").get_json()
    assert one["location"] == {"code": "B-01", "name": "Place B-01", "site": "MAIN"}
    assert [(m["kind"], m["from_location"], m["to_location"]) for m in one["movements"]] == [
        ("receipt", None, "A-01"), ("move", "A-01", "B-01")]
    two = client.get("/api/serials/SN-2").get_json()
    assert (two["status"], two["location"], two["in_stock"]) == ("in_transit", None, False)
    listed = client.get("/api/serials?q=SN-").get_json()["serials"]
    assert [(r["serial"], r["status"], r["location"] and r["location"]["code"]) for r in listed] == [
        ("SN-1", "in_stock", "B-01"), ("SN-2", "in_transit", None)]


def test_transfer_document_names_destination_and_units(client, db):
    """Guards a transfer's JSON: its destination, and per serial shipped and arrived."""
    with db.Session.begin() as s:
        shop(s)
        receive(s, ("SN-1", "A-01"), ("SN-2", "A-02"))
        transfer = post(s, K.transfer, {"serial": "SN-1", "at": "NORTH"}, {"serial": "SN-2", "at": "NORTH"},
                        at="NORTH")
        arrival = opened(s, K.arrival, "NORTH")
        arrival.order_id = transfer.id
        line(s, arrival, serial="SN-2", at="N-01")
        posting.post(s, arrival)
        reference, arrived = transfer.reference, arrival.reference
    body = client.get(f"/api/documents/{reference}").get_json()
    assert body["destination"] == {"code": "NORTH", "name": "Place NORTH", "site": "NORTH"}
    assert body["units"] == [{"serial": "SN-1", "shipped": True, "arrived": False},
                             {"serial": "SN-2", "shipped": True, "arrived": True}]
    assert [(x["serial"], x["from_location"], x["to_location"]) for x in body["lines"]] == [
        ("SN-1", "A-01", "NORTH"), ("SN-2", "A-02", "NORTH")]
    assert [(m["kind"], m["from_location"], m["to_location"]) for m in body["movements"]] == [
        ("transfer_out", "A-01", None), ("transfer_out", "A-02", None)]
    came = client.get(f"/api/documents/{arrived}").get_json()
    assert (came["order"], [(m["kind"], m["to_location"]) for m in came["movements"]]) == (
        reference, [("transfer_in", "N-01")])


def test_count_document_open_and_posted(client, db):
    """Guards a count's JSON: expected, counted, missing, moved (from), added, quantities; the same once posted,
    read back from its movements, and its adjustments' reasons derived."""
    with db.Session.begin() as s:
        shop(s)
        receive(s, ("SN-1", "A-01"), ("SN-2", "A-02"), ("SN-3", "B-01"), ("4", "A-01"))
        loose = product(s, "LOOSE")
        count = opened(s, K.count, "A")
        for serial, at in (("SN-1", "A-01"), ("SN-3", "A-02"), ("NEW-1", "A-01")):
            line(s, count, serial=serial, at=at, product=product(s, "WID-1") if serial == "NEW-1" else None)
        for _ in range(3):
            line(s, count, product=loose, at="A-01")
        reference, count_id = count.reference, count.id
    expected = {"location": {"code": "A", "name": "Place A", "site": "MAIN"}, "expected": 6, "counted": 6,
                "missing": ["SN-2"], "moved": [{"serial": "SN-3", "from": "B-01"}], "added": ["NEW-1"],
                "quantities": {"LOOSE": {"expected": 4, "counted": 3}}}
    body = client.get(f"/api/documents/{reference}").get_json()
    assert {k: body[k] for k in expected} == expected
    with db.Session.begin() as s:
        posting.post(s, s.get(type(count), count_id))
    body = client.get(f"/api/documents/{reference}").get_json()
    assert {k: body[k] for k in expected} == expected
    reasons = {(m["serial"], m["reason"]) for m in body["movements"] if m["kind"] == "adjustment"}
    assert reasons == {("NEW-1", f"found in count {reference}"), ("SN-2", f"not found in count {reference}"),
                       (None, f"not found in count {reference}")}
    with db.Session() as s:
        exported = [(r["serial"], r["kind"], r["from_location"], r["to_location"], r["reason"])
                    for r in movement_rows(s) if r["document"] == reference]
        assert ("SN-3", "move", "B-01", "A-02", None) in exported
        assert ("SN-2", "adjustment", "A-02", None, f"not found in count {reference}") in exported
        feed = events.after(s, 0, 100)
        assert any(e.subject == "document" and e.subject_id == count_id for e in feed)
    page = client.get("/api/events?after=0&limit=100").get_json()["events"]
    posted = next(e for e in page if e["type"] == "document.posted" and e["document"]["reference"] == reference)
    assert posted["document"]["moved"] == [{"serial": "SN-3", "from": "B-01"}]
    assert ("move", "B-01", "A-02") in {(m["kind"], m["from_location"], m["to_location"])
                                        for m in posted["document"]["movements"]}


def test_sale_line_names_where_its_unit_left(client, db):
    """Guards a line's from_location: the serial's place while open, its movement's once posted."""
    with db.Session.begin() as s:
        shop(s)
        receive(s, ("SN-1", "A-01"))
        sale = opened(s, K.sale, "B-01", customer=party(s, "customer", "BOB"))
        line(s, sale, serial="SN-1", at="B-01")
        reference, sale_id = sale.reference, sale.id
    first = client.get(f"/api/documents/{reference}").get_json()["lines"][0]
    assert (first["from_location"], first["to_location"]) == ("A-01", None)
    with db.Session.begin() as s:
        posting.post(s, s.get(type(sale), sale_id))
    first = client.get(f"/api/documents/{reference}").get_json()["lines"][0]
    assert (first["from_location"], first["to_location"]) == ("A-01", None)
