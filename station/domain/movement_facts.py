"""A movement's facts: the one select that reads a movement with what it names (the read model of the record).

A movement row names its product, serial, document (and the order that
document filled), its supplier or customer, and the locations the unit left
and went to, each by id. ``FACTS`` joins them once, every join an outer join
by a primary key, and labels each column once; the ERP export, the EPCIS
events, a serial's movements (the API's record and the page's timeline) and
a document's movements all read it, each adding only its filter and order
(``M``'s columns). A new movement column, or a new fact of what it names, is
one more column here, and every reader has it.
"""
from __future__ import annotations

from sqlalchemy import select

from .models import Customer, Document, Location, Movement, Product, SerialNumber, Supplier

M = Movement.__table__
_P, _S = Product.__table__.alias("movement_product"), SerialNumber.__table__.alias("movement_serial")
_D, _O = Document.__table__.alias("movement_document"), Document.__table__.alias("movement_order")
_SUP, _CUS = Supplier.__table__.alias("movement_supplier"), Customer.__table__.alias("movement_customer")
_FROM, _TO = Location.__table__.alias("from_location"), Location.__table__.alias("to_location")

#: The movement and what it names; a reader filters and orders by ``M``'s columns (``M.c.serial_id``...).
FACTS = (
    select(M.c.id, M.c.at, M.c.kind, M.c.quantity, M.c.station, M.c.user, M.c.product_id, M.c.serial_id,
           M.c.document_id,
           _P.c.code.label("product_code"), _P.c.name.label("product_name"), _S.c.serial,
           _D.c.reference.label("document_reference"), _D.c.kind.label("document_kind"),
           _D.c.reason.label("document_reason"),
           _O.c.reference.label("order_reference"), _O.c.kind.label("order_kind"),
           _SUP.c.code.label("supplier_code"), _SUP.c.name.label("supplier_name"),
           _CUS.c.code.label("customer_code"), _CUS.c.name.label("customer_name"),
           _FROM.c.code.label("from_location"), _FROM.c.gln.label("from_gln"),
           _TO.c.code.label("to_location"), _TO.c.gln.label("to_gln"))
    .select_from(M.outerjoin(_P, _P.c.id == M.c.product_id).outerjoin(_S, _S.c.id == M.c.serial_id)
                 .outerjoin(_D, _D.c.id == M.c.document_id).outerjoin(_O, _O.c.id == _D.c.order_id)
                 .outerjoin(_SUP, _SUP.c.id == M.c.supplier_id).outerjoin(_CUS, _CUS.c.id == M.c.customer_id)
                 .outerjoin(_FROM, _FROM.c.id == M.c.from_location_id).outerjoin(_TO, _TO.c.id == M.c.to_location_id))
)
