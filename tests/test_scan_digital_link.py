"""GS1 Digital Link scans (SPEC 4, rule 3): a QR code's URI read exactly as the element string it encodes.

Pure reading tests with a fake ``Lookups`` (no database; the flows on both
databases are in tests/test_scan_digital_link_flows.py). The vectors:

- GS1's own syntax engine, gs1/gs1-syntax-engine ``src/c-lib/dl.c``,
  ``test_dl_parseDLuri`` (commit 50657dbd04ce78d8734e8793e054bf70dcba294b): its
  "Examples from DL specification" and its URI forms (case, ports, IPv6, a
  path stem, percent-escapes, fragments, bad characters);
- GS1's digital-link.js, gs1/digital-link.js ``tests/index.js`` (commit
  0a39ac768fec4de119a1256e08d0542616f6772f): a full URI with batch, serial, a
  best-before AI and a custom query parameter, an invalid one, a compressed one;
- URIs as QR codes in the wild carry them: trailing slashes, tracking
  parameters, upper-case hosts (and whole URIs upper-cased into a QR's
  alphanumeric mode), http, a resolver's path prefix, AIM identifiers.
"""
from __future__ import annotations

import re

import pytest

from station.domain.barcodes import lookup_forms, normalise_barcode
from station.domain.errors import Refusal
from station.scan_core.reading import Kind, ProductInfo, Reading, read

SPEC_GTIN = "09520123456788"  # GS1 Digital Link standard's examples (prefix 952: for examples)
ENGINE_GTIN = "12312312312333"  # gs1-syntax-engine's test GTIN
BOOK_GTIN = "09780345418913"  # digital-link.js's (an ISBN as GTIN-13, zero-filled to 14)
RICE = ProductInfo("RICE-1", "Risotto rice", True, True)
GENERIC = ProductInfo("GEN-1", "Engine test item", True, True)
BOOK = ProductInfo("BOOK-1", "A book", True, True)
DOCUMENT_RE = re.compile(r"^PO-\d+$")


class Lookups:
    """The reader's questions answered from dicts, barcodes stored as the database stores them (GTIN-14)."""

    def __init__(self, serials=None):
        self.products = {normalise_barcode(k): v for k, v in
                         {SPEC_GTIN: RICE, ENGINE_GTIN: GENERIC, BOOK_GTIN: BOOK}.items()}
        self.serials = serials or {"SN/1": RICE}

    def product_by_barcode(self, text):
        return next((self.products[f] for f in lookup_forms(text) if f in self.products), None)

    def serial_product(self, text):
        return (text in self.serials), self.serials.get(text)

    def serial_in_service(self, text):
        return False

    def party_exists(self, kind, code):
        return False

    def order_exists(self, reference):
        return False

    def operator_exists(self, code):
        return False


def r(text: str, lookups=None) -> Reading:
    return read(text, lookups or Lookups(), document_re=DOCUMENT_RE)


# (scan, GTIN, product, serial, batch, expiry)
ENGINE = "gs1-syntax-engine dl.c"
READ = [
    # GS1 Digital Link standard's examples, as gs1-syntax-engine's test_dl_parseDLuri holds them.
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN}/21/12345", SPEC_GTIN, RICE, "12345", None, None,
                 id="spec_gtin_serial"),
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN}/10/ABC1/21/12345?17=180426", SPEC_GTIN, RICE, "12345", "ABC1",
                 "180426", id="spec_gtin_batch_serial_expiry"),
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN}/10/ABC123", SPEC_GTIN, RICE, None, "ABC123", None,
                 id="spec_gtin_batch"),
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN}", SPEC_GTIN, RICE, None, None, None, id="spec_gtin_alone"),
    pytest.param("https://brand.example.com/some-extra/pathinfo/01/9520123456788", SPEC_GTIN, RICE, None, None, None,
                 id="spec_path_prefix_and_gtin13"),
    pytest.param(f"https://example.com/01/{SPEC_GTIN}?3103=000195&3922=0299&17=201225", SPEC_GTIN, RICE, None, None,
                 "201225", id="spec_query_attributes"),
    # gs1-syntax-engine's URI forms.
    pytest.param(f"HTTPS://a/01/{ENGINE_GTIN}", ENGINE_GTIN, GENERIC, None, None, None, id="engine_upper_scheme"),
    pytest.param(f"http://a/01/{ENGINE_GTIN}", ENGINE_GTIN, GENERIC, None, None, None, id="engine_http"),
    pytest.param(f"https://a:65535/01/{ENGINE_GTIN}", ENGINE_GTIN, GENERIC, None, None, None, id="engine_port"),
    pytest.param(f"https://[2001:db8::1]/01/{ENGINE_GTIN}", ENGINE_GTIN, GENERIC, None, None, None, id="engine_ipv6"),
    pytest.param(f"https://xn--fsq.xn--0zwm56d/01/{ENGINE_GTIN}", ENGINE_GTIN, GENERIC, None, None, None,
                 id="engine_punycode_host"),
    pytest.param(f"https://a/01/{ENGINE_GTIN}/22/test/10/abc/21/xyz#fragment", ENGINE_GTIN, GENERIC, "xyz", "abc",
                 None, id="engine_fragment_ignored"),
    pytest.param(f"https://a/01/{ENGINE_GTIN}/22/ABC%2d123/10/X%2f1/21/Y%2F2", ENGINE_GTIN, GENERIC, "Y/2", "X/1",
                 None, id="engine_percent_escapes_either_case"),
    pytest.param(f"https://a/01/{ENGINE_GTIN}/21/ABC+123", ENGINE_GTIN, GENERIC, "ABC+123", None, None,
                 id="engine_plus_is_plus_in_the_path"),
    pytest.param(f"https://a/01/{ENGINE_GTIN}?99=ABC&unknown=666&98=XYZ&singleton", ENGINE_GTIN, GENERIC, None,
                 None, None, id="engine_unknown_and_singleton_query_parameters"),
    # digital-link.js tests/index.js
    pytest.param("https://gs1.evrythng.com/01/9780345418913/10/38737643/21/58943?15=230911"
                 "&thngId=U5mQKGDpnymBwQwRakyBqeYh", BOOK_GTIN, BOOK, "58943", "38737643", None,
                 id="digital_link_js_full_uri"),
    # From the wild.
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN}/21/12345/", SPEC_GTIN, RICE, "12345", None, None,
                 id="wild_trailing_slash"),
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN}/21/12345?utm_source=label&utm_medium=qr&17=261231", SPEC_GTIN,
                 RICE, "12345", None, "261231", id="wild_tracking_parameters"),
    pytest.param(f"https://ID.GS1.ORG/01/{SPEC_GTIN}/21/12345", SPEC_GTIN, RICE, "12345", None, None,
                 id="wild_upper_case_host"),
    pytest.param(f"HTTPS://ID.GS1.ORG/01/{SPEC_GTIN}/21/AB12", SPEC_GTIN, RICE, "AB12", None, None,
                 id="wild_whole_uri_upper_case_qr_alphanumeric"),
    pytest.param(f"https://resolver.example.com/gs1/dl/01/{SPEC_GTIN}/21/12345", SPEC_GTIN, RICE, "12345", None,
                 None, id="wild_resolver_path_prefix"),
    pytest.param(f"https://example.com/foo/01/{SPEC_GTIN}/21/SN%2F1", SPEC_GTIN, RICE, "SN/1", None, None,
                 id="wild_percent_encoded_slash_in_serial"),
    pytest.param(f"]Q1https://id.gs1.org/01/{SPEC_GTIN}/21/12345", SPEC_GTIN, RICE, "12345", None, None,
                 id="wild_qr_aim_identifier"),
    pytest.param(f"]Q3https://id.gs1.org/01/{SPEC_GTIN}/21/12345", SPEC_GTIN, RICE, "12345", None, None,
                 id="wild_gs1_qr_aim_identifier"),
    pytest.param(f"]d1https://id.gs1.org/01/{SPEC_GTIN}/21/12345", SPEC_GTIN, RICE, "12345", None, None,
                 id="wild_digital_link_in_a_datamatrix"),
    pytest.param("https://id.gs1.org/01/09506000134352/21/7", "09506000134352", None, "7", None, None,
                 id="gtin_of_no_product_is_read_unfound"),
]


@pytest.mark.parametrize(("scan", "gtin", "product", "serial", "batch", "expiry"), READ)
def test_digital_link_reads_as_its_element_string(scan, gtin, product, serial, batch, expiry):
    """Guards the Digital Link reading: GTIN, serial, batch and expiry as the element string gives them."""
    reading = r(scan)
    assert reading.kind is Kind.gs1
    assert (reading.code, reading.product, reading.serial, reading.batch, reading.expiry) == (
        gtin, product, serial, batch, expiry)
    assert reading.found is (product is not None)


@pytest.mark.parametrize(("link", "element_string"), [
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN}/21/12345", f"]Q301{SPEC_GTIN}2112345", id="gtin_serial"),
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN}/10/ABC1/21/12345?17=180426",
                 f"]d201{SPEC_GTIN}17180426" "10ABC1\x1d2112345", id="spec_sorted_17_first"),
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN}/21/SN%2F1", f"]d201{SPEC_GTIN}21SN/1", id="known_serial"),
])
def test_a_link_and_its_element_string_read_alike(link, element_string):
    """Guards "exactly like the element string it encodes": the same reading but for the text scanned."""
    from dataclasses import replace

    assert replace(r(link), text="") == replace(r(element_string), text="")


@pytest.mark.parametrize("scan", [
    pytest.param("https://www.example.com/products/widget", id="web_page"),
    pytest.param("https://www.example.com/", id="site_root"),
    pytest.param("https://example.com/01/", id="key_without_value"),
    pytest.param("https://a/b", id="engine_no_path_info"),
    pytest.param(f"https://a/01/{ENGINE_GTIN}<bad", id="engine_bad_character"),
    pytest.param(f"https://a/01//{ENGINE_GTIN}", id="engine_empty_value"),
    pytest.param("https://a/01/1231231231233%003", id="engine_percent_encoded_nul"),
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN}/21/A%20B", id="serial_outside_cset_82"),
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN}/21/{'X' * 21}", id="serial_of_21_characters"),
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN}/21/1?17=991399", id="expiry_not_a_date"),
    pytest.param("https://gs1.evrythng.com/01/9780345418913d", id="digital_link_js_invalid"),
    pytest.param("https://dlnkd.tn.gg/HxHKVAdpQgZzjr-hCDKigI", id="digital_link_js_compressed"),
    pytest.param("https://id.gs1.org/gtin/09520123456788/ser/1", id="deprecated_alpha_keys"),
    pytest.param("ftp://id.gs1.org/01/09520123456788/21/1", id="not_http"),
    pytest.param("]Q1mailto://x@example.com", id="other_scheme_with_aim"),
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN[:-1]}9/21/1", id="wrong_check_digit"),
    pytest.param("https://id.gs1.org/00/006141411234567890", id="sscc_names_no_product"),
    pytest.param("https://a/00/faux/00/006141411234567890", id="engine_faux_key_in_stem_then_sscc"),
    pytest.param("https://id.gs1.org/414/9520123456788", id="gln_names_no_product"),
])
def test_any_other_url_is_an_unknown_barcode(scan):
    """Guards SPEC 4's "any other URL is unknown_barcode": never a new serial, never a crash, a sentence that
    says what to scan instead."""
    with pytest.raises(Refusal) as refused:
        r(scan)
    assert refused.value.code == "unknown_barcode"
    assert "scan the product's or the unit's own barcode" in refused.value.message


def test_a_url_is_refused_even_where_it_is_a_known_serial():
    """Guards the order of SPEC 4: GS1 (rule 3) comes before known serials, so a serial stored as a web address
    is refused as a URL rather than read as the serial."""
    with pytest.raises(Refusal) as refused:
        r("https://www.example.com/x", Lookups({"https://www.example.com/x": RICE}))
    assert refused.value.code == "unknown_barcode"


@pytest.mark.parametrize(("scan", "says"), [
    pytest.param("https://www.example.com/", "is a web address, not the GS1 Digital Link of a product",
                 id="not_a_link"),
    pytest.param(f"https://id.gs1.org/01/{SPEC_GTIN[:-1]}9/21/1", "whose check digit is wrong", id="check_digit"),
    pytest.param("https://a/00/faux/00/006141411234567890", "names no product (AI 01) and no serial (AI 21)",
                 id="rightmost_key_read_past_a_faux_stem"),
])
def test_refusals_say_why(scan, says):
    """Guards the operator's sentence: what was wrong with the link (the faux stem is read past, as GS1's
    engine does, to the SSCC that names no product)."""
    with pytest.raises(Refusal) as refused:
        r(scan)
    assert says in refused.value.message


def test_a_long_url_is_quoted_by_its_start():
    """Guards the message's length: a 500-character URL is quoted by its first 64 characters."""
    scan = "https://www.example.com/" + "x" * 476
    with pytest.raises(Refusal) as refused:
        r(scan)
    assert scan[:64] + "…" in refused.value.message and scan not in refused.value.message
