"""Keys in API paths read exactly as sent: '/', '//', '%' and any Unicode in a serial survive.

The rule. A key (a serial, a product code, a barcode, a reference) travels
percent-encoded in the path, with '/' sent as %2F. Werkzeug decodes %2F before
routing, so PATH_INFO alone cannot tell the serial ``SN/adjust`` from the
serial ``SN`` plus the ``/adjust`` action. So a route captures the whole tail
after its collection (``<tail:rest>``) and the view splits that tail with
:func:`tail_parts`, which works on the raw request URI:

1. The raw tail is the suffix of ``RAW_URI`` (gunicorn, Werkzeug) or
   ``REQUEST_URI`` (waitress, Werkzeug, mod_wsgi) that percent-decodes to the
   routed tail (equal up to runs of '/', in case something merged PATH_INFO's).
2. It is split at its literal slashes, and each part percent-decoded once
   (UTF-8; undecodable bytes become U+FFFD, as Werkzeug does).
3. The view peels off the action parts from the right (``.../adjust``,
   ``.../barcodes``, ``.../barcodes/<barcode>``) and joins what is left with
   '/' into the key. So a %2F stays inside the key, and a literal '/' no
   action claims stays in the key too: a hand-typed ``/api/serials/SN/1``
   still finds ``SN/1``.
4. A literal action word is the action whatever the method: ``GET
   .../SN/adjust`` is 405 (Allow: POST), as the OpenAPI document says, not
   the serial ``SN/adjust`` (which is ``.../SN%2Fadjust``). So the routes
   take every method (:data:`ANY_METHOD`) and the view answers 405, and
   OPTIONS, with the methods of the shape the tail has (:func:`allowed`).

Without a raw URI, step 1 falls back to the decoded tail: everything works
except that a key ending in an action's own text (a serial ``X/adjust``
POSTed to ``.../X%2Fadjust``) is read as that action.

A path that starts with '//' is no URL of this server: 404 (in JSON under
the API), as a '//' anywhere else outside a key is. Werkzeug strips a path's
leading slashes before routing (``//api/serials`` would be ``/api/serials``),
so :func:`refuse_leading_slashes` looks at the path as it came.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, unquote_to_bytes

from flask import Response, request
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter

# A decoded character comes from at most 4 UTF-8 bytes of 3 characters each.
_MAX_EXPANSION = 12
# Keys are at most 64 characters; a longer tail is refused later anyway.
_MAX_TAIL = 512
_SLASHES = re.compile(r"/{2,}")


#: What a keyed route takes from routing: the view says which of them the tail's shape allows.
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def allowed(methods: Iterable[str]) -> Response | None:
    """None when the request's method is one of ``methods``; the answer to OPTIONS; else 405 with ``Allow``."""
    allow = set(methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
    if request.method == "OPTIONS":
        return Response(status=200, headers={"Allow": ", ".join(sorted(allow))})
    if request.method not in allow:
        raise MethodNotAllowed(valid_methods=sorted(allow))
    return None


class TailConverter(BaseConverter):
    """Everything after the collection, slashes and leading slash included, unmerged."""

    regex = ".+"
    part_isolating = False


def decode(raw: str) -> str:
    """Percent-decode a WSGI (latin-1 carried) raw string once, as UTF-8."""
    try:
        data = raw.encode("latin-1")
    except UnicodeEncodeError:  # a server that already passed real text
        return unquote(raw, errors="replace")
    return unquote_to_bytes(data).decode("utf-8", "replace")


def _raw_path() -> str | None:
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not isinstance(raw, str) or not raw:
        return None
    if not raw.startswith("/"):
        # Absolute form (``GET http://host/api/...``): drop scheme and authority.
        sep = raw.find("://")
        if sep < 0:
            return None
        slash = raw.find("/", sep + 3)
        raw = raw[slash:] if slash >= 0 else "/"
    return raw.split("?", 1)[0].split("#", 1)[0]


def raw_tail(rest: str) -> str | None:
    """The still-encoded form of the routed tail ``rest``, or None when the server gave no raw URI."""
    raw = _raw_path()
    if raw is None or len(rest) > _MAX_TAIL:
        return None
    # Suffixes starting right after a literal '/', shortest first; only those
    # long enough to decode to ``rest`` and short enough to have come from it.
    starts = [i + 1 for i in range(len(raw) - 1, -1, -1) if raw[i] == "/"]
    starts = [i for i in starts if len(rest) <= len(raw) - i <= _MAX_EXPANSION * len(rest) + _MAX_EXPANSION]
    for i in starts:
        decoded = decode(raw[i:])
        if decoded == rest:
            return raw[i:]
        if len(decoded) > len(rest) + 3:
            break  # longer suffixes only decode longer (give or take a merged UTF-8 sequence)
    squeezed = _SLASHES.sub("/", rest)
    for i in starts:
        if _SLASHES.sub("/", decode(raw[i:])) == squeezed:
            return raw[i:]
    return None


def tail_parts(rest: str) -> list[str]:
    """The routed tail split at the slashes that were literal in the request, each part decoded."""
    raw = raw_tail(rest)
    if raw is None:
        return rest.split("/")
    return [decode(part) for part in raw.split("/")]


def tail_key(rest: str) -> str:
    """The whole tail as one key (for routes without actions under the key)."""
    return "/".join(tail_parts(rest))


def refuse_leading_slashes() -> None:
    """Before any view (the app's first ``before_request``): a path that starts with '//' is a 404."""
    if request.environ.get("PATH_INFO", "").startswith("//"):
        raise NotFound()


def sent_path() -> str:
    """The request's path as it came, its leading slashes included (``request.path`` keeps one of them)."""
    raw = request.environ.get("PATH_INFO", "")
    if not raw.startswith("//"):
        return request.path
    return "/" * (len(raw) - len(raw.lstrip("/")) - 1) + request.path
