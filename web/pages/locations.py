"""``/locations``: the tree of sites and locations with their units; ``/locations/<code>``: what is there.

The tree shows every location under its site, indented, with the units
directly at it and here-and-below; ``/locations/<code>`` shows its site and
path, the locations right under it, the units per product and the serials
(where each is, 50 a page) here and below, and its URI (``/location/<code>``,
the station's URI of a location, answers 303 to the page). Forms add a location and rename,
move or (de)activate one; each posts to ``/locations`` with an ``action``
and redirects back (Post/Redirect/Get, web.pages.forms).
"""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from station.domain import location_facts, location_stock, locations
from station.domain.location_facts import LocationFacts
from station.domain.models import Location
from station.traceability import uris

from ..api.paths import tail_key
from ..db import station_app, transaction
from .forms import PER_PAGE, Pager, attempt, back, done, field, page_arg
from .links import location_url

bp = Blueprint("locations", __name__)


@bp.get("/locations")
def index():
    exact = request.args.get("exact")
    if exact is not None:
        return record_page(exact)
    with transaction() as session:
        nodes = location_stock.tree(session)
        rows = [{"code": n.location.code, "name": n.location.name, "depth": n.depth, "here": n.here,
                 "total": n.total, "active": n.location.active, "site": n.depth == 0} for n in nodes]
    return render_template("locations.html", rows=rows, sites=sum(r["site"] for r in rows))


@bp.get("/locations/<tail:rest>", merge_slashes=False)
def record(rest: str):
    return record_page(tail_key(rest))


@bp.get("/location/<tail:rest>", merge_slashes=False)
def uri(rest: str):
    """A station URI of a location (``<base_uri>/location/<code>``, SPEC 5 Traceability) is its page: 303."""
    return redirect(location_url(tail_key(rest)), 303)


def _path(session, location: LocationFacts) -> list[dict[str, str]]:
    """The locations from its site down to it."""
    out, seen = [], set()
    at: LocationFacts | None = location
    while at is not None and at.id not in seen:
        seen.add(at.id)
        out.append({"code": at.code, "name": at.name})
        at = location_facts.by_id(session, at.parent_id)
    return out[::-1]


def record_page(code: str):
    page = page_arg("spage")
    with transaction() as session:
        location = location_facts.by_code(session, code)
        if location is None:
            return render_template("error.html", status=404, code="unknown_location",
                                   message=f"There is no location {code}."), 404
        nodes = location_stock.tree(session, root_id=location.id)
        children = [{"code": n.location.code, "name": n.location.name, "total": n.total, "active": n.location.active}
                    for n in nodes if n.location.parent_id == location.id]
        products = location_stock.products(session, location.id)
        serials, total = location_stock.serials(session, location.id, page=page, per_page=PER_PAGE)
        units = nodes[0].total if nodes else 0
        data = {"code": location.code, "name": location.name, "active": location.active,
                "parent": location.parent_code, "path": _path(session, location), "site": location.site_code,
                "uri": uris.location_uri(station_app().config, location.code)}
    pager = Pager(page, total, arg="spage", base=location_url(data["code"]))
    return render_template("location.html", loc=data, children=children, products=products, serials=serials,
                           units=units, pager=pager)


@bp.post("/locations")
def post():
    """``action``: create, rename, move, deactivate or activate."""
    action = request.form.get("action", "")
    if action not in ("create", "rename", "move", "deactivate", "activate"):
        abort(400, description="Unknown form action.")
    code = request.form.get("code", "")
    target = url_for(".index") if action == "create" else location_url(code)
    with attempt():
        with transaction() as session:
            if action == "create":
                made = locations.add(session, code, request.form.get("name", ""), field("parent"))
                message, target = f"Location {made.code} ({made.name}) added.", location_url(made.code)
            else:
                message = _change(session, locations.get(session, code), action)
        done(message)
    return back(target)


def _change(session, location: Location, action: str) -> str:
    if action == "rename":
        locations.rename(session, location, request.form.get("name", ""))
        return f"Location {location.code} is now {location.name}."
    if action == "move":
        parent = field("parent")
        locations.move(session, location, parent)
        return f"Location {location.code} is now {'in ' + parent if parent else 'a site'}."
    changed = locations.set_active(session, location, action == "activate")
    state = "reactivated" if action == "activate" else "deactivated"
    under = len(changed) - 1
    return f"Location {location.code} {state}" + (f", with {under} under it." if under > 0 else ".")
