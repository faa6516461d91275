"""The lists and the creations the record endpoints share: a paged list with ``?active=``, and 201 with Location.

``/api/locations`` and ``/api/operators`` list records that can be deactivated, answer a creation with the
record and its address; each says only how its rows are listed and shown.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import url_for
from sqlalchemy.orm import Session

from ..db import transaction
from .inputs import bool_arg, page_args, paged


def active_list(name: str, list_rows: Callable[..., tuple[list, int]],
                present: Callable[[Session, list], list[dict[str, Any]]]) -> dict[str, Any]:
    """``GET`` of the list called ``name`` (``?active=true|false``, paged): ``list_rows(session, page=...,
    per_page=..., active=...)`` gives a page of rows and the total, ``present(session, rows)`` their JSON."""
    page, per_page = page_args()
    active = bool_arg("active")
    with transaction() as session:
        rows, total = list_rows(session, page=page, per_page=per_page, active=active)
        items = present(session, rows)
    return paged(name, items, page, per_page, total)


def created(out: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """201 with the record made, its address (the list's, then its code) in Location."""
    return out, 201, {"Location": url_for(".index") + "/" + quote(out["code"], safe="")}
