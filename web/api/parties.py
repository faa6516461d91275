"""/api/suppliers and /api/customers: list, create and read the parties (SPEC 5)."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, url_for

from station.domain import catalogue, party_record, searches
from station.interchange import representation

from ..db import transaction
from . import fields
from .inputs import json_body, page_args, paged, text_arg
from .paths import tail_key

bp = Blueprint("parties", __name__)

PLURALS = {"supplier": "suppliers", "customer": "customers"}


def _index(kind: str):
    """Parties by code; ``q`` matches a code prefix or part of a name."""
    page, per_page = page_args()
    text = text_arg("q", max_len=200)
    with transaction() as session:
        rows, total = searches.parties(session, kind, text=text, page=page, per_page=per_page)
    return paged(PLURALS[kind], [representation.party(p) for p in rows], page, per_page, total)


def _create(kind: str):
    """``{"code", "name"}``: 201 with the party, 409 ``duplicate`` when the code is taken."""
    body = json_body(allowed=("code", "name"))
    with transaction() as session:
        made = catalogue.create_party(session, kind, fields.text(body, "code"), fields.text(body, "name"))
        out = representation.party(party_record.by_id(session, kind, made.id))
    location = url_for(f".{PLURALS[kind]}_index") + "/" + quote(out["code"], safe="")
    return out, 201, {"Location": location}


def _show(kind: str, rest: str):
    with transaction() as session:
        out = representation.party(party_record.by_code(session, kind, tail_key(rest)))
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
