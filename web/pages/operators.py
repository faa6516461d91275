"""``/operators``: the people who sign in at the stations, their badges, and forms to add, rename and deactivate.

Every form posts to ``/operators`` with an ``action`` and the operator's code
in a hidden field, then redirects back (Post/Redirect/Get, web.pages.forms).
A badge is the operator's code after ``USR:``, drawn here as Code 128 to
print (``station labels commands --operators`` prints them all).
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for

from station.domain import operators
from station.printing import labels

from ..db import transaction
from .forms import PER_PAGE, Pager, attempt, back, done, field, page_arg

bp = Blueprint("operators", __name__)


@bp.get("/operators")
def index():
    page = page_arg()
    with transaction() as session:
        rows, total = operators.list_operators(session, page=page, per_page=PER_PAGE)
        people = [{"code": o.code, "name": o.name, "active": o.active, "badge": _badge(o.code)} for o in rows]
    return render_template("operators.html", operators=people, pager=Pager(page, total))


def _badge(code: str) -> str | None:
    try:
        return labels.svg(f"{operators.BADGE_PREFIX}{code}", module_height_mm=8.0)
    except ValueError:
        return None


@bp.post("/operators")
def post():
    """``action``: create, rename, deactivate or activate."""
    action = request.form.get("action", "")
    if action not in ("create", "rename", "deactivate", "activate"):
        abort(400, description="Unknown form action.")
    with attempt():
        with transaction() as session:
            if action == "create":
                made = operators.create_operator(session, request.form.get("code", ""), request.form.get("name", ""))
                message = f"Operator {made.code} ({made.name}) added."
            else:
                person = operators.get_operator(session, request.form.get("code", ""))
                if action == "rename":
                    operators.update_operator(session, person, name=field("name") or "")
                    message = f"Operator {person.code} is now {person.name}."
                else:
                    operators.update_operator(session, person, active=action == "activate")
                    message = f"Operator {person.code} {'reactivated' if person.active else 'deactivated'}."
        done(message)
    return back(url_for(".index"))
