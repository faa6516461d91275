"""/api/locations in the document: its paths, its records and its bodies (SPEC 5; SPEC 3c).

Kept beside routes, records and bodies rather than inside them, so that the
locations' part of the contract reads in one place; document.py merges it.
"""
from __future__ import annotations

from typing import Any

from station.domain import gln as glns
from station.domain.vocabulary import LOCATION_CODE_MAX

from . import bodies, text
from .records import FLAG, NAMED_OR_NULL, TEXT, WHOLE, Schema, closed, ref
from .routes import CODE, _record_links, answer, op

CODE_PATTERN = f"^[A-Za-z0-9._-]{{1,{LOCATION_CODE_MAX}}}{text.END}"
GLN_PATTERN = f"^[0-9]{{13}}{text.END}"
#: The string formats this part of the document names, each with what checks it: a ``gln``'s last digit is GS1's
#: check digit of the others, which no pattern can say (a client or a contract test checks it with this). As JSON
#: Schema's formats do, each says nothing of a value of another type (null: no GLN).
FORMATS = {"gln": lambda value: not isinstance(value, str) or glns.is_valid(value)}


def _summary() -> dict[str, Schema]:
    return {"code": TEXT, "name": TEXT,
            "parent": {"type": ["string", "null"], "description": "The parent's code; null: a site."},
            "site": {"type": "string", "description": "The code of the site it is under (its own for a site)."},
            "active": FLAG,
            "gln": {"type": ["string", "null"], "pattern": GLN_PATTERN, "format": "gln",
                    "description": "Its GS1 Global Location Number, or null: EPCIS names it "
                                   "https://id.gs1.org/414/<GLN> when it has one, else <base_uri>/location/<code>."}}


def schemas() -> dict[str, Schema]:
    """Records (answers) and bodies (requests) by name."""
    parent = {"type": ["string", "null"],
              "description": "The parent's code (404 unknown_location when none has it; 422 invalid_field when it "
                             "is deactivated, itself or under it); null or absent: a site."}
    gln = {"type": ["string", "null"], "pattern": GLN_PATTERN, "format": "gln",
           "description": "Its GS1 Global Location Number: 13 digits, the last GS1's check digit (400 invalid_field "
                          "when they are not; 409 duplicate when another location has it); null clears it."}
    return {
        "LocationSummary": closed(_summary()),
        "Location": closed({
            **_summary(),
            "children": {"type": "array", "items": TEXT, "description": "The codes of the locations right under it."},
            "products": {"type": "array", "items": closed({"product": NAMED_OR_NULL, "units": WHOLE}),
                         "description": "Units here and below per product (serials in stock and unserialised "
                                        "units); null: serials that name no product."},
            "serials": {"type": "array", "maxItems": 100, "items": closed({
                "serial": TEXT, "product": NAMED_OR_NULL,
                "location": {"type": "string", "description": "Where it is: this location or one under it."}}),
                "description": "The serials in stock here and below, by serial, 100 a page (?page=)."}}),
        "LocationCode": {"type": "string", "pattern": CODE_PATTERN,
                         "description": f"1-{LOCATION_CODE_MAX} of A-Z a-z 0-9 . _ - (scanned as LOC:<code>)."},
        "LocationCreate": closed({"code": ref("LocationCode"), "name": ref("Name"), "parent": parent, "gln": gln},
                                 optional=("parent", "gln")),
        "LocationPatch": {**closed({"name": ref("Name"), "parent": parent, "active": {"type": "boolean"},
                                    "gln": gln}, optional=("name", "parent", "active", "gln")),
                          "minProperties": 1,
                          "description": "Rename, move (parent null: make it a site; refused for a location "
                                         "holding stock, 422 invalid_field) and deactivate (422 location_not_empty "
                                         "while it or anything under it holds stock) or reactivate. The code is "
                                         "what its label holds and cannot be changed (400 read_only)."},
    }


def paths() -> dict[str, Any]:
    created = _record_links("location", "code", "getLocation", "patchLocation")
    return {
        "/api/locations": {
            "get": op("Locations", "locations", {200: answer("A page of locations, by code.", "Locations")}, (400,),
                      op_id="listLocations",
                      parameters=[*bodies.paging(), bodies.flag("active", "Active or deactivated.")]),
            "post": op("Create a location (a site without a parent; scanned as LOC:<code>)", "locations",
                       {201: answer("The new location.", "Location")}, (404, 409, 422), body="LocationCreate",
                       op_id="createLocation", links=created)},
        "/api/locations/{code}": {"parameters": [CODE], "get": op(
            "A location: its site, children, units per product and serials here and below", "locations",
            {200: answer("The location; its serials 100 a page.", "Location")}, (400, 404), op_id="getLocation",
            parameters=[bodies.paging(per_page=100)[0]]),
            "patch": op("Rename, move, deactivate or reactivate a location", "locations",
                        {200: answer("The location.", "Location")}, (404, 409, 422), body="LocationPatch",
                        op_id="patchLocation")},
    }
