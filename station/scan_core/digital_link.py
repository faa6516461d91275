"""A scanned web address read as the GS1 element strings its GS1 Digital Link encodes (SPEC 4, rule 3).

A QR code on a product or unit may hold a GS1 Digital Link URI rather than
an element string: ``https://<any host>[/<path prefix>]/01/<GTIN>[/10/<batch>]
[/21/<serial>][?17=<expiry>&...]``. The station reads it exactly as the
element string ``(01)...(10)...(21)...(17)...`` it encodes, so a Digital Link
QR receives or sells the serial as its GS1 DataMatrix would. biip does the
reading (``GS1DigitalLinkURI``: any host, a path prefix, percent-decoded
values, AIs in the query, other query parameters such as ``utm_source``
ignored). Around it, what labels in the wild hold and the standard's
grammar does not: one trailing slash is dropped (GS1's own syntax engine
refuses it; its meaning is not in doubt), and a path prefix that itself holds
a segment such as ``00`` is passed over to the next primary key, as GS1's
syntax engine does ("stop at rightmost key").

Any other URL (no primary key in its path, a value its AI does not allow, a
compressed Digital Link, a web page) is no barcode of this station:
``unknown_barcode``.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from biip import ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI

# An absolute URL: a scheme, then "://" (RFC 3986). Only http and https can be Digital Links.
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# The path segments a Digital Link's primary key may follow (GS1 Digital Link URI Syntax, the key AIs).
_KEYS = frozenset({"00", "01", "253", "255", "401", "402", "414", "415", "417", "8003", "8004", "8006", "8010",
                   "8013", "8017", "8018"})


def is_url(text: str) -> bool:
    """Whether a scan is a web address (``https://...``, ``HTTP://...``, any ``scheme://``)."""
    return URL.match(text) is not None


def element_values(text: str) -> dict[str, str] | None:
    """The values of the element strings a Digital Link URI encodes, by AI (the first of each), or None.

    None when ``text`` is not a Digital Link the standard (or the leniency
    above) reads: another scheme, no primary key, a value its AI refuses.
    """
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    path = parts.path[:-1] if parts.path.endswith("/") else parts.path
    segments = path.split("/")
    for start, segment in enumerate(segments):
        if segment not in _KEYS:
            continue
        candidate = urlunsplit((parts.scheme, parts.netloc, "/".join(["", *segments[start:]]), parts.query, ""))
        try:
            link = GS1DigitalLinkURI.parse(candidate)
        except (ParseError, ValueError):
            continue  # a prefix segment that only looks like a key: try the next one
        values: dict[str, str] = {}
        for element in link.element_strings:
            values.setdefault(element.ai.ai, element.value)
        return values
    return None
