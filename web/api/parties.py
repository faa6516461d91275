"""/api/suppliers and /api/customers: list, create and read the parties (SPEC 5)."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, url_for
from sqlalchemy import func, or_, select

from station.domain import catalogue
from station.domain.catalogue import PARTY_MODELS
from station.interchange import representation

from ..db import transaction
from . import fields
from .inputs import json_body, page_args, paged, text_arg
from .paths import tail_key

bp = Blueprint("parties", __name__)

PLURALS = {"supplier": "suppliers", "customer": "customers"}


def _index(kind: str):
    """Parties by code; ``q`` matches a code prefix or part of a name."""
    model = PARTY_MODELS[kind]
    page, per_page = page_args()
    text = text_arg("q", max_len=200)
    with transaction() as session:
        query = select(model)
        if text is not None:
            query = query.where(or_(model.code.istartswith(text, autoescape=True),
                                    model.name.icontains(text, autoescape=True)))
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(query.order_by(model.code).offset((page - 1) * per_page).limit(per_page)).all()
        items = [representation.party(p) for p in rows]
    return paged(PLURALS[kind], items, page, per_page, total)


def _create(kind: str):
    """``{"code", "name"}``: 201 with the party, 409 ``duplicate`` when the code is taken."""
    body = json_body(allowed=("code", "name"))
    with transaction() as session:
        party = catalogue.create_party(session, kind, fields.text(body, "code"), fields.text(body, "name"))
        out = representation.party(party)
    location = url_for(f".{PLURALS[kind]}_index") + "/" + quote(out["code"], safe="")
    return out, 201, {"Location": location}


def _show(kind: str, rest: str):
    with transaction() as session:
        out = representation.party(catalogue.get_party(session, kind, tail_key(rest)))
    return out


def _bind(view, kind: str):
    def bound(**kwargs):
        return view(kind, **kwargs)
    bound.__doc__ = view.__doc__
    return bound


def _add_rules() -> None:
    for kind, plural in PLURALS.items():
        bp.add_url_rule(f"/{plural}", f"{plural}_index", _bind(_index, kind), methods=["GET"])
        bp.add_url_rule(f"/{plural}", f"{plural}_create", _bind(_create, kind), methods=["POST"])
        bp.add_url_rule(f"/{plural}/<tail:rest>", f"{plural}_show", _bind(_show, kind),
                        methods=["GET"], merge_slashes=False)


_add_rules()
