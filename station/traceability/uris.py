"""The URIs a serial and a location are known by (SPEC 5 Traceability), and a serial's GS1 element string.

A serial of a product with a GTIN is a GS1 Digital Link URI,
``<digital_link_base>/01/<GTIN-14>/21/<serial>``, its serial percent-encoded as
the GS1 Digital Link standard says: every character but the unreserved ones of
RFC 3986 (``A-Z a-z 0-9 - . _ ~``) written as ``%XX``, so ``SN/1`` is
``SN%2F1`` and ``A+B`` is ``A%2BB`` (GS1's syntax engine, ``gs1_generateDLuri``,
encodes the same set). Any other serial is ``<base_uri>/serial/<serial>``,
encoded alike. A serial AI 21 cannot carry (more than 20 characters, or one
outside GS1's character set 82: a space, ``#``, ``~``, a letter with an accent)
has no GS1 form, so it takes the second URI too and its labels carry the
serial itself. A location with a ``gln`` (13 digits, a right check digit) is
``https://id.gs1.org/414/<GLN>``, any other ``<base_uri>/location/<code>``.

``base_uri`` defaults to the web server's own address, ``http://<host>:<port>``.
These URIs are what the serial page shows, what QR labels carry and what
EPCIS events will name the serials and locations by.
"""
from __future__ import annotations

from urllib.parse import quote

from biip import ParseError
from biip.gs1_element_strings import GS1ElementString

from station.config import Config
from station.domain import gln as glns

GS1_RESOLVER = "https://id.gs1.org"


def _encoded(value: str) -> str:
    """A path segment: every character but RFC 3986's unreserved ones percent-encoded (UTF-8 first)."""
    return quote(value, safe="")


def gs1_serial(serial: str) -> bool:
    """Whether GS1's AI 21 can carry ``serial``: 1-20 characters of character set 82."""
    try:
        return GS1ElementString.parse(f"21{serial}").value == serial
    except ParseError:
        return False


def gs1_form(gtin: str | None, serial: str) -> tuple[tuple[str, str], ...] | None:
    """The serial's GS1 element strings, ``(("01", GTIN-14), ("21", serial))``, or None when it has none."""
    if gtin is None or not gs1_serial(serial):
        return None
    return (("01", gtin), ("21", serial))


def digital_link(base: str, gtin: str, serial: str) -> str:
    """``<base>/01/<GTIN-14>/21/<serial>`` with the serial percent-encoded."""
    return f"{base}/01/{gtin}/21/{_encoded(serial)}"


def base_uri(config: Config) -> str:
    """``[traceability] base_uri``, else the web server's address (an IPv6 host in brackets)."""
    if config.traceability.base_uri is not None:
        return config.traceability.base_uri
    host = config.web.host
    return f"http://{f'[{host}]' if ':' in host else host}:{config.web.port}"


def serial_uri(config: Config, serial: str, gtin: str | None) -> str:
    """The serial's URI: its Digital Link when its product has a GTIN (and AI 21 can carry it), else the station's."""
    if gs1_form(gtin, serial) is not None:
        return digital_link(config.traceability.digital_link_base, gtin, serial)
    return f"{base_uri(config)}/serial/{_encoded(serial)}"


def valid_gln(gln: str) -> bool:
    """13 digits whose check digit is right (the rule a location's record keeps: station.domain.gln)."""
    return glns.is_valid(gln)


def location_uri(config: Config, code: str, gln: str | None = None) -> str:
    """A location's URI: GS1's ``/414/<GLN>`` when it has a GLN, else ``<base_uri>/location/<code>``.

    A GLN that is not 13 digits with a right check digit is a ValueError: the
    location's record refuses one, so one here is a caller's mistake, never a URI.
    """
    if gln is None:
        return f"{base_uri(config)}/location/{_encoded(code)}"
    if not valid_gln(gln):
        raise ValueError(f"GLN {gln!r} of location {code!r} is not 13 digits with a right check digit")
    return f"{GS1_RESOLVER}/414/{gln}"


def product_uri(config: Config, code: str, gtin: str | None) -> str:
    """A product as a class of units (EPCIS ``epcClass``): ``<digital_link_base>/01/<GTIN-14>`` when it has a GTIN,
    else ``<base_uri>/products/<code>`` (its page)."""
    if gtin is not None:
        return f"{config.traceability.digital_link_base}/01/{gtin}"
    return f"{base_uri(config)}/products/{_encoded(code)}"


def document_uri(config: Config, reference: str) -> str:
    """A document (a receipt, a purchase order, a sale ...): ``<base_uri>/documents/<reference>``, its page."""
    return f"{base_uri(config)}/documents/{_encoded(reference)}"


def party_uri(config: Config, kind: str, code: str) -> str:
    """A supplier or a customer: ``<base_uri>/suppliers/<code>`` or ``<base_uri>/customers/<code>``."""
    return f"{base_uri(config)}/{kind}s/{_encoded(code)}"
