"""``/documents``: recent documents; ``/documents/<reference>``: lines, status, and for a purchase
order what was expected against what has been received (posted) so far."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from station.domain import document_record, searches
from station.domain.vocabulary import DocumentKind, DocumentStatus
from station.interchange import representation

from ..api.paths import tail_key
from ..db import transaction
from .forms import PER_PAGE, Pager, page_arg
from .serials import search_arg

bp = Blueprint("documents", __name__)

KINDS = [k.value for k in DocumentKind]
STATUSES = [s.value for s in DocumentStatus]


@bp.get("/documents")
def index():
    """Newest first, filtered by reference prefix, kind and status; ``exact`` shows one document."""
    exact = request.args.get("exact")
    if exact is not None:
        return record_page(exact)
    q = search_arg("q")
    kind = request.args.get("kind", "")
    status = request.args.get("status", "")
    page = page_arg()
    with transaction() as session:
        docs, total = searches.documents(session, prefix=q or None, kind=DocumentKind(kind) if kind in KINDS else None,
                                         status=DocumentStatus(status) if status in STATUSES else None,
                                         page=page, per_page=PER_PAGE)
        pager = Pager(page, total)
        rows = [{"reference": d.reference, "kind": d.kind.value, "status": d.status.value, "station": d.station,
                 "party": representation.named(d.party_code, d.party_name),
                 "created_at": representation.timestamp(d.created_at), "lines": d.line_count} for d in docs]
    return render_template("documents.html", documents=rows, pager=pager, q=q or "", kind=kind, status=status,
                           kinds=KINDS, statuses=STATUSES)


@bp.get("/documents/<tail:rest>", merge_slashes=False)
def record(rest: str):
    return record_page(tail_key(rest))


def record_page(reference: str):
    with transaction() as session:
        doc = document_record.find(session, reference)
        if doc is None:
            return render_template("error.html", status=404, code="unknown_document",
                                   message=f"There is no document {reference}."), 404
        data = representation.document(session, doc)
        receipts = []
        if doc.kind == DocumentKind.purchase_order:
            receipts = [{"reference": r.reference, "status": r.status.value, "station": r.station, "units": r.units,
                         "posted_at": representation.timestamp(r.posted_at)}
                        for r in document_record.receipts(session, doc.id)]
    return render_template("document.html", d=data, receipts=receipts)
