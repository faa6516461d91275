"""A receipt of serials that have no record yet, as the posting tests start from."""
from __future__ import annotations

from station.domain import catalogue, documents
from station.domain.models import DocumentKind


def receipt_of_new_serials(db) -> tuple[int, int, int]:
    """An open receipt of ACME holding WID-1 serials SN-0..SN-4, none of which has a record yet: its id, the
    product's and the supplier's."""
    with db.Session.begin() as s:
        widget = catalogue.create_product(s, "WID-1", "Widget")
        acme = catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        doc = documents.open_document(s, DocumentKind.receipt, station="in", supplier=acme)
        for n in range(5):
            documents.add_line(s, doc, product=widget, serial=f"SN-{n}")
        return doc.id, widget.id, acme.id
