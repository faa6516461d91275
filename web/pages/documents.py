"""``/documents``: recent documents; ``/documents/<reference>``: lines, status, and for a purchase
order what was expected against what has been received (posted) so far."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from station.domain.models import Document, DocumentKind, DocumentStatus
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
        query = select(Document)
        if q:
            query = query.where(Document.reference.istartswith(q, autoescape=True))
        if kind in KINDS:
            query = query.where(Document.kind == DocumentKind(kind))
        if status in STATUSES:
            query = query.where(Document.status == DocumentStatus(status))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        pager = Pager(page, total)
        docs = session.scalars(query.order_by(Document.id.desc()).offset(pager.offset).limit(PER_PAGE).options(
            selectinload(Document.lines), selectinload(Document.customer), selectinload(Document.supplier))).all()
        rows = [{"reference": d.reference, "kind": d.kind.value, "status": d.status.value, "station": d.station,
                 "party": representation.party(d.customer or d.supplier),
                 "created_at": representation.timestamp(d.created_at), "lines": len(d.lines)} for d in docs]
    return render_template("documents.html", documents=rows, pager=pager, q=q or "", kind=kind, status=status,
                           kinds=KINDS, statuses=STATUSES)


@bp.get("/documents/<tail:rest>", merge_slashes=False)
def record(rest: str):
    return record_page(tail_key(rest))


def record_page(reference: str):
    with transaction() as session:
        doc = session.scalar(select(Document).where(Document.reference == reference))
        if doc is None:
            return render_template("error.html", status=404, code="unknown_document",
                                   message=f"There is no document {reference}."), 404
        data = representation.document(session, doc)
        receipts = []
        if doc.kind == DocumentKind.purchase_order:
            receipts = [
                {"reference": r.reference, "status": r.status.value, "station": r.station,
                 "units": sum(line.quantity for line in r.lines), "posted_at": representation.timestamp(r.posted_at)}
                for r in session.scalars(select(Document).where(Document.order_id == doc.id).order_by(Document.id))
            ]
    return render_template("document.html", d=data, receipts=receipts)
