"""A serial's and a location's URIs (SPEC 5 Traceability), and the GTINs they are built from, on both databases.

Generation vectors from GS1's syntax engine, gs1/gs1-syntax-engine
``src/c-lib/dl.c``, ``test_dl_generateDLuri`` (commit
50657dbd04ce78d8734e8793e054bf70dcba294b): "(01)12312312312326(21)abc123" is
``https://id.gs1.org/01/12312312312326/21/abc123`` on GS1's resolver and
``https://example.com/01/...`` on a stem of one's own, and a "+" in a value is
``%2B``. Every URI built is read back by biip and by the station's own scan
reader as the serial it names.
"""
from __future__ import annotations

import re
import string

import pytest
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from hypothesis import given, settings
from hypothesis import strategies as st

from station.config import from_dict
from station.domain import catalogue, documents
from station.domain.errors import ConfigError
from station.domain.models import DocumentKind
from station.domain.serials import create_serial
from station.scan_core.reading import Kind, ProductInfo, read
from station.traceability import uris
from station.traceability.gtins import product_gtins, serial_gtins

CSET_82 = "".join(c for c in string.printable[:94] if c not in "#$@[\\]^`{|}~")
ENGINE_GTIN = "12312312312326"


def config(**traceability):
    return from_dict({"traceability": traceability} if traceability else {})


@pytest.mark.parametrize(("settings_", "serial", "uri"), [
    pytest.param({}, "abc123", f"https://id.gs1.org/01/{ENGINE_GTIN}/21/abc123", id="engine_canonical"),
    pytest.param({"digital_link_base": "https://example.com"}, "abc123",
                 f"https://example.com/01/{ENGINE_GTIN}/21/abc123", id="engine_custom_stem"),
    pytest.param({"digital_link_base": "https://example.com/"}, "ABC+123",
                 f"https://example.com/01/{ENGINE_GTIN}/21/ABC%2B123", id="engine_plus_and_stem_slash"),
    pytest.param({"digital_link_base": "https://resolver.example.com/gs1"}, "SN/1",
                 f"https://resolver.example.com/gs1/01/{ENGINE_GTIN}/21/SN%2F1", id="path_prefix_and_slash"),
    pytest.param({}, "!\"%&'()*+,/:;<=>?-._", f"https://id.gs1.org/01/{ENGINE_GTIN}/21/"
                 "%21%22%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F-._", id="every_reserved_character_of_set_82"),
])
def test_a_serial_with_a_gtin_is_its_digital_link(settings_, serial, uri):
    """Guards the Digital Link form: the base, /01/, the GTIN-14, /21/ and the serial percent-encoded."""
    assert uris.serial_uri(config(**settings_), serial, ENGINE_GTIN) == uri


@pytest.mark.parametrize(("settings_", "web", "serial", "gtin", "uri"), [
    pytest.param({}, {}, "SN-1", None, "http://127.0.0.1:8700/serial/SN-1", id="no_gtin_default_base"),
    pytest.param({}, {"host": "0.0.0.0", "port": 80}, "SN 1", None, "http://0.0.0.0:80/serial/SN%201",
                 id="the_web_servers_address"),
    pytest.param({}, {"host": "::1"}, "SN-1", None, "http://[::1]:8700/serial/SN-1", id="ipv6_host_bracketed"),
    pytest.param({"base_uri": "https://station.example.com/"}, {}, "A/B#C", None,
                 "https://station.example.com/serial/A%2FB%23C", id="own_base"),
    pytest.param({}, {}, "SN 1", ENGINE_GTIN, "http://127.0.0.1:8700/serial/SN%201",
                 id="gtin_but_a_serial_ai_21_cannot_carry"),
    pytest.param({}, {}, "X" * 21, ENGINE_GTIN, f"http://127.0.0.1:8700/serial/{'X' * 21}",
                 id="gtin_but_a_serial_over_20_characters"),
])
def test_any_other_serial_is_the_stations_uri(settings_, web, serial, gtin, uri):
    """Guards the second form: ``<base_uri>/serial/<serial>``, base_uri defaulting to the web server's address,
    for a serial without a GTIN and one GS1's AI 21 cannot carry (no Digital Link could name it)."""
    data = {"web": web} | ({"traceability": settings_} if settings_ else {})
    assert uris.serial_uri(from_dict(data), serial, gtin) == uri


class _Lookups:
    def product_by_barcode(self, text):
        return ProductInfo("P", "P", True, True) if text == ENGINE_GTIN else None

    def serial_product(self, text):
        return False, None

    def serial_in_service(self, text):
        return False


@given(st.text(alphabet=CSET_82, min_size=1, max_size=20))
@settings(max_examples=200, deadline=None)
def test_every_digital_link_reads_back_as_its_serial(serial):
    """Guards the percent-encoding against the readers: biip and the station's own scan reader take every
    Digital Link the station writes back to exactly its GTIN and serial."""
    uri = uris.serial_uri(config(digital_link_base="https://example.com/dl"), serial, ENGINE_GTIN)
    values = {e.ai.ai: e.value for e in GS1DigitalLinkURI.parse(uri).element_strings}
    assert values == {"01": ENGINE_GTIN, "21": serial}
    reading = read(uri, _Lookups(), document_re=re.compile(r"^PO-\d+$"))
    assert (reading.kind, reading.code, reading.serial) == (Kind.gs1, ENGINE_GTIN, serial)


@pytest.mark.parametrize(("code", "gln", "uri"), [
    pytest.param("SHELF-1", "9520123456788", "https://id.gs1.org/414/9520123456788", id="gln_spec_example"),
    pytest.param("SHELF-1", None, "http://127.0.0.1:8700/location/SHELF-1", id="no_gln"),
    pytest.param("A/1 B", None, "http://127.0.0.1:8700/location/A%2F1%20B", id="code_percent_encoded"),
])
def test_a_location_uri(code, gln, uri):
    """Guards a location's URI: GS1's /414/<GLN> (the Digital Link standard's example GLN), else the station's."""
    assert uris.location_uri(config(), code, gln) == uri


@pytest.mark.parametrize("gln", [pytest.param("9520123456789", id="wrong_check_digit"),
                                 pytest.param("952012345678", id="twelve_digits"),
                                 pytest.param("95201234567８", id="not_ascii_digits")])
def test_a_location_uri_refuses_a_bad_gln(gln):
    """Guards against a URI of a GLN that is none: a caller's mistake, said, not written into an event."""
    with pytest.raises(ValueError, match="13 digits with a right check digit"):
        uris.location_uri(config(), "SHELF-1", gln)


@pytest.mark.parametrize(("key", "value", "says"), [
    pytest.param("digital_link_base", "id.gs1.org", "digital_link_base must be the start of a URI", id="no_scheme"),
    pytest.param("digital_link_base", "ftp://id.gs1.org", "digital_link_base must be", id="ftp"),
    pytest.param("base_uri", "https://x.example/?a=1", "base_uri must be the start of a URI", id="query"),
    pytest.param("base_uri", "https://x.example/#top", "base_uri must be", id="fragment"),
    pytest.param("base_uri", "https://x.example/a b", "base_uri must be", id="space"),
    pytest.param("base_uri", "https:///path", "base_uri must be", id="no_host"),
])
def test_the_bases_are_checked(key, value, says):
    """Guards [traceability]: a base that would make no URI is refused by name when the configuration is read."""
    with pytest.raises(ConfigError) as refused:
        config(**{key: value})
    assert "[traceability]" in refused.value.message and says in refused.value.message


def test_gtins_of_serials_from_records_and_open_lines(db):
    """Guards where a label's GTIN comes from, on both databases: a serial's record, else (a unit not yet
    posted) its newest document line; a product's first barcode that is a GTIN-14; None without one."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=["WID-INTERNAL", "9520123456788", ENGINE_GTIN])
        catalogue.create_product(s, "PLAIN", "Plain", barcodes=["PLAIN-1"])
        catalogue.create_product(s, "BARE", "Bare")
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        wid, plain = catalogue.get_product(s, "WID-1"), catalogue.get_product(s, "PLAIN")
        doc = documents.open_document(s, DocumentKind.receipt, station="t",
                                      supplier=catalogue.get_party(s, "supplier", "ACME"))
        documents.add_line(s, doc, product=wid, serial="ON-RECEIPT")
        documents.add_line(s, doc, product=plain, serial="PLAIN-ON-RECEIPT")
        create_serial(s, "WITH-RECORD", product="WID-1")
        create_serial(s, "NO-PRODUCT")
        create_serial(s, "BARE-1", product="BARE")
    with db.Session() as s:
        assert serial_gtins(s, ["WITH-RECORD", "ON-RECEIPT", "PLAIN-ON-RECEIPT", "NO-PRODUCT", "BARE-1", "NOWHERE"]) \
            == {"WITH-RECORD": "09520123456788", "ON-RECEIPT": "09520123456788", "PLAIN-ON-RECEIPT": None,
                "NO-PRODUCT": None, "BARE-1": None, "NOWHERE": None}
        assert product_gtins(s, []) == {} and serial_gtins(s, []) == {}
