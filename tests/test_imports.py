"""CSV imports of products and purchase orders (issue 2, item 5), on SQLite and PostgreSQL.

A good file imports; the same file twice changes nothing; a bad row names its
line and column and leaves nothing written; a UTF-8 BOM, blank trailing
lines, flag words and ``|``-separated barcodes (UPC-A stored as GTIN-14) are
understood; the caller owns the transaction.
"""
from __future__ import annotations

import io
import re

import pytest
from helpers.database import count
from sqlalchemy import select

from station.domain import catalogue, documents, posting, serials
from station.domain.errors import StationError
from station.domain.models import Document, DocumentKind, Product, ProductBarcode, Supplier
from station.interchange.imports import (
    ImportFailed,
    ImportResult,
    decode_csv,
    import_products,
    import_purchase_orders,
)

PO_PATTERN = re.compile(r"^PO-\d+$")

PRODUCTS = (
    "code,name,serial_required_for_purchase,serial_required_for_sales,barcodes\n"
    "WID-1,Widget,true,true,036000291452|WID1-BOX\n"
    "LOOSE,Loose part,no,yes,\n"
    "BULK,\"Cable, 2 m\",0,0,4006381333931\n"
    "PLAIN,Plain,,,\n"
)

ORDERS = (
    "reference,supplier,product,quantity\n"
    "PO-1042,ACME,WID-1,5\n"
    "PO-1042,ACME,LOOSE,20\n"
    "PO-1043,OTHER,BULK,3\n"
    "PO-1042,ACME,BULK,1\n"
)


def write(tmp_path, text: str, name: str = "file.csv", *, bom: bool = False):
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def products(session) -> dict[str, tuple]:
    rows = session.scalars(select(Product).order_by(Product.code)).all()
    return {p.code: (p.name, p.serial_required_for_purchase, p.serial_required_for_sales,
                     sorted(b.barcode for b in p.barcodes)) for p in rows}


@pytest.fixture
def parties(session):
    """The suppliers purchase order files name, and the products they order."""
    for code in ("ACME", "OTHER"):
        catalogue.create_party(session, "supplier", code, f"{code} Ltd")
    session.commit()


# --- products ------------------------------------------------------------------------------------


def test_good_product_file(session, tmp_path):
    """Guards against a product file imported wrong: names, flags, barcodes (UPC-A as GTIN-14)."""
    result = import_products(session, write(tmp_path, PRODUCTS))
    session.commit()
    assert result == ImportResult(created=4, updated=0, unchanged=0, rows=4)
    assert products(session) == {
        "BULK": ("Cable, 2 m", False, False, ["04006381333931"]),
        "LOOSE": ("Loose part", False, True, []),
        "PLAIN": ("Plain", True, True, []),
        "WID-1": ("Widget", True, True, ["00036000291452", "WID1-BOX"]),
    }
    widget = catalogue.get_product(session, "WID-1")
    for scanned in ("036000291452", "0036000291452", "00036000291452", "WID1-BOX"):
        assert catalogue.product_by_barcode(session, scanned) is widget


def test_same_product_file_twice_changes_nothing(session, tmp_path):
    """Guards against a second import duplicating, touching or failing on records it made itself."""
    path = write(tmp_path, PRODUCTS)
    import_products(session, path)
    session.commit()
    before = products(session)
    result = import_products(session, path)
    session.commit()
    assert result == ImportResult(created=0, updated=0, unchanged=4, rows=4)
    assert products(session) == before
    # The same numbers in another GTIN form are the same barcodes: still unchanged.
    again = PRODUCTS.replace("036000291452", "0036000291452")
    assert import_products(session, io.StringIO(again)).unchanged == 4


def test_changed_products_are_updated(session, tmp_path):
    """Guards against an import that cannot rename a product, change its flags or add a barcode."""
    import_products(session, write(tmp_path, PRODUCTS))
    catalogue.add_barcode(session, catalogue.get_product(session, "PLAIN"), "PLAIN-HAND")
    session.commit()
    changed = (
        "code,name,serial_required_for_purchase,serial_required_for_sales,barcodes\n"
        "WID-1,Widget Mk2,true,true,036000291452|WID1-BOX\n"
        "LOOSE,Loose part,no,no,\n"
        "PLAIN,Plain,,,PLAIN-2\n"
        "NEW-1,New,,,\n"
        "BULK,\"Cable, 2 m\",0,0,4006381333931\n"
    )
    result = import_products(session, io.StringIO(changed))
    session.commit()
    assert result == ImportResult(created=1, updated=3, unchanged=1, rows=5)
    now = products(session)
    assert now["WID-1"][0] == "Widget Mk2"
    assert now["LOOSE"][1:3] == (False, False)
    assert now["PLAIN"][3] == ["PLAIN-2", "PLAIN-HAND"]  # added; the one put on by hand is kept
    assert "NEW-1" in now


@pytest.mark.parametrize(
    "word, expected",
    [
        pytest.param("true", True, id="true"),
        pytest.param("TRUE", True, id="true_upper_case"),
        pytest.param("yes", True, id="yes"),
        pytest.param(" Yes ", True, id="yes_with_space"),
        pytest.param("1", True, id="one"),
        pytest.param("", True, id="empty_means_true"),
        pytest.param("false", False, id="false"),
        pytest.param("No", False, id="no"),
        pytest.param("0", False, id="zero"),
    ],
)
def test_flag_words(session, word, expected):
    """Guards against flags misread: every accepted spelling, and empty as SPEC 2's default (true)."""
    text = f"code,name,serial_required_for_purchase,serial_required_for_sales\nP-1,P,{word},{word}\n"
    import_products(session, io.StringIO(text))
    product = catalogue.get_product(session, "P-1")
    assert (product.serial_required_for_purchase, product.serial_required_for_sales) == (expected, expected)


def test_flag_and_barcode_columns_may_be_left_out(session):
    """Guards against refusing a minimal file of codes and names (flags then default to true)."""
    result = import_products(session, io.StringIO("name,code\nWidget,WID-1\n"))
    assert result.created == 1
    assert products(session) == {"WID-1": ("Widget", True, True, [])}


def test_bom_blank_lines_crlf_and_header_case(session, tmp_path):
    """Guards against files from spreadsheets: a UTF-8 BOM, CRLF, blank and empty trailing rows, odd header case."""
    text = ("Code , NAME,Serial_Required_For_Purchase,serial_required_for_sales,barcodes\r\n"
            "WID-1,Widget,no,yes,WID1-BOX\r\n"
            "\r\n"
            "GAD-1,Gädget,,,\r\n"
            ",,,,\r\n"
            "\r\n\r\n")
    path = write(tmp_path, text, bom=True)
    assert import_products(session, path) == ImportResult(created=2, rows=2)
    assert products(session)["GAD-1"] == ("Gädget", True, True, [])
    assert products(session)["WID-1"] == ("Widget", False, True, ["WID1-BOX"])
    # A BOM inside an already decoded text (a file opened without utf-8-sig) is dropped too.
    assert import_products(session, io.StringIO("\ufeff" + text)).unchanged == 2


def test_rows_given_as_mappings(session):
    """Guards against the import only working from a file (the API can hand over parsed rows)."""
    rows = [{"code": "WID-1", "name": "Widget", "barcodes": "036000291452"},
            {"code": "LOOSE", "name": "Loose", "serial_required_for_purchase": "no"}]
    assert import_products(session, rows) == ImportResult(created=2, rows=2)
    with pytest.raises(ImportFailed) as exc:
        import_products(session, [{"code": "X"}, {"code": "Y", "name": ""}])
    assert (exc.value.line, exc.value.column) == (2, "name")


def test_progress_is_reported(session):
    """Guards against a progress bar that never moves or never finishes."""
    calls = []
    import_products(session, io.StringIO(PRODUCTS), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


BAD_PRODUCT_ROWS = [
    pytest.param("WID-2,Widget 2,maybe,true,", 3, "serial_required_for_purchase", ": maybe is not one of true/false",
                 id="flag_word"),
    pytest.param("WID-2,,true,true,", 3, "name", "empty", id="empty_name"),
    pytest.param(",Nameless,true,true,", 3, "code", "empty", id="empty_code"),
    pytest.param(f"{'X' * 65},Long,true,true,", 3, "code", "longer than 64", id="code_too_long"),
    pytest.param("WID-2,Bell\x07,true,true,", 3, "name", "cannot be printed", id="control_character"),
    pytest.param("WID-2,Widget 2,true,true,036000291452", 3, "barcodes", "WID-1", id="barcode_of_earlier_row"),
    pytest.param("WID-2,Widget 2,true,true,A1|A1", 3, "barcodes", "twice", id="barcode_twice_in_row"),
    pytest.param("WID-2,Widget 2,true,true,CMD:FINISH", 3, "barcodes", "CMD:", id="barcode_is_a_command"),
    pytest.param("WID-2,Widget 2,true,true,SN-1", 3, "barcodes", "serial", id="barcode_is_a_serial"),
    pytest.param("WID-1,Widget again,true,true,", 3, "code", "line 2", id="code_twice_in_file"),
    pytest.param("WID-2,Widget 2,true,true,,extra", 3, None, "6 values", id="too_many_values"),
    pytest.param('WID-2,"Widget 2,true,true,', 3, None, "CSV", id="unclosed_quote"),
]


@pytest.mark.parametrize("bad, line, column, words", BAD_PRODUCT_ROWS)
def test_bad_product_row_imports_nothing(db, session, bad, line, column, words):
    """Guards against half a file imported, or an error that does not say where the bad value is."""
    catalogue.create_product(session, "OLD", "Old")
    serials.create_serial(session, "SN-1")
    session.commit()
    text = ("code,name,serial_required_for_purchase,serial_required_for_sales,barcodes\n"
            "WID-1,Widget,true,true,036000291452\n"
            f"{bad}\n"
            "GAD-1,Gadget,true,true,\n")
    with pytest.raises(ImportFailed) as exc:
        import_products(session, io.StringIO(text))
    error = exc.value
    assert isinstance(error, StationError)
    assert (error.line, error.column) == (line, column)
    assert words in str(error)
    assert str(error).startswith(f"line {line}, column {column}: " if column else f"line {line}: ")
    session.rollback()
    with db.Session() as fresh:
        assert [p.code for p in fresh.scalars(select(Product))] == ["OLD"]
        assert count(fresh, ProductBarcode) == 0


def test_failed_import_leaves_the_session_clean_even_if_committed(session):
    """Guards against a caller that commits after an ImportFailed keeping the rows before the bad one."""
    text = "code,name,serial_required_for_purchase\nA,A,yes\nB,B,perhaps\n"
    with pytest.raises(ImportFailed):
        import_products(session, io.StringIO(text))
    session.commit()
    assert count(session, Product) == 0


@pytest.mark.parametrize(
    "text, column, words",
    [
        pytest.param("code,serial_required_for_purchase\nA,yes\n", "name", "no column name", id="missing_name"),
        pytest.param("name\nA\n", "code", "no column code", id="missing_code"),
        pytest.param("code,name,colour\nA,A,red\n", "colour", "unknown column", id="unknown_column"),
        pytest.param("code,name,serial_required_for_sale\nA,A,no\n", "serial_required_for_sale", "unknown column",
                     id="misspelt_flag_column"),
        pytest.param("code,name,code\nA,A,A\n", "code", "twice", id="column_twice"),
        pytest.param("", None, "empty", id="empty_file"),
    ],
)
def test_bad_product_header(session, text, column, words):
    """Guards against a header problem reported on a data row, or a misspelt flag column silently ignored."""
    with pytest.raises(ImportFailed) as exc:
        import_products(session, io.StringIO(text))
    assert (exc.value.line, exc.value.column) == (1, column)
    assert words in exc.value.message
    assert count(session, Product) == 0


def test_neither_utf8_nor_cp1252_names_the_line(session):
    """Guards against a crash, instead of a line number, on a file in an encoding no rule recognises."""
    data = b"code,name\nA,Alpha\nB,Caf\x81\n"  # 0x81: no UTF-8 sequence, and undefined in Windows-1252
    with pytest.raises(ImportFailed) as exc:
        import_products(session, data)
    assert exc.value.line == 3 and "UTF-8" in exc.value.message and "--encoding" in exc.value.message
    assert count(session, Product) == 0


@pytest.mark.parametrize("data, encoding", [
    pytest.param("code,name\nCAFÉ-1,Café crème 3€\n".encode("cp1252"), "cp1252", id="excel_plain_csv_cp1252"),
    pytest.param(b"\xef\xbb\xbf" + "code,name\nCAFÉ-1,Café crème 3€\n".encode(), "utf-8-sig", id="utf8_bom"),
    pytest.param("code,name\nCAFÉ-1,Café crème 3€\n".encode("utf-16"), "utf-16", id="utf16_bom"),
])
def test_excel_encodings_are_recognised(session, data, encoding):
    """Guards against an Excel export (issue 10, defect 9: cp1252, a UnicodeDecodeError traceback) being refused
    or read as mojibake: each is read as its encoding, and the text arrives exactly."""
    assert decode_csv(data)[1] == encoding
    import_products(session, data)
    assert session.scalar(select(Product.name).where(Product.code == "CAFÉ-1")) == "Café crème 3€"


def test_multi_line_quoted_value_keeps_line_numbers(session):
    """Guards against line numbers drifting after a value that spans two lines."""
    text = 'code,name,barcodes\nA,Alpha,"X1|\nX2"\nB,,\n'
    with pytest.raises(ImportFailed) as exc:
        import_products(session, io.StringIO(text))
    assert (exc.value.line, exc.value.column) == (4, "name")
    # A line break inside a name is refused where the name starts.
    with pytest.raises(ImportFailed) as exc:
        import_products(session, io.StringIO('code,name\nA,"Two\nlines"\n'))
    assert (exc.value.line, exc.value.column) == (2, "name")


# --- purchase orders -----------------------------------------------------------------------------


@pytest.fixture
def catalogue_rows(session, parties):
    import_products(session, io.StringIO(PRODUCTS))
    session.commit()


def order_lines(session, reference):
    order = documents.get_document(session, reference)
    return order.supplier.code, [(line.product.code, line.quantity) for line in order.lines]


def test_good_purchase_order_file(session, tmp_path, catalogue_rows):
    """Guards against rows of one reference split into several orders, or lines lost."""
    result = import_purchase_orders(session, write(tmp_path, ORDERS), pattern=PO_PATTERN)
    session.commit()
    assert result == ImportResult(created=2, rows=4)
    assert order_lines(session, "PO-1042") == ("ACME", [("WID-1", 5), ("LOOSE", 20), ("BULK", 1)])
    assert order_lines(session, "PO-1043") == ("OTHER", [("BULK", 3)])
    order = documents.get_document(session, "PO-1042")
    assert order.kind == DocumentKind.purchase_order
    assert {r["product"]: (r["expected"], r["received"]) for r in documents.order_progress(session, order)} == {
        "WID-1": (5, 0), "LOOSE": (20, 0), "BULK": (1, 0)}


def test_same_purchase_order_file_twice_changes_nothing(session, tmp_path, catalogue_rows):
    """Guards against a second import doubling the orders, or refusing orders it made itself."""
    path = write(tmp_path, ORDERS, bom=True)
    import_purchase_orders(session, path, pattern=PO_PATTERN)
    session.commit()
    # Received against in the meantime: still the same order, still unchanged.
    order = documents.get_document(session, "PO-1043")
    receipt = documents.open_document(session, DocumentKind.receipt, order=order)
    documents.add_line(session, receipt, product=catalogue.get_product(session, "BULK"), quantity=3)
    posting.post(session, receipt)
    session.commit()
    documents_before = count(session, Document)
    result = import_purchase_orders(session, path, pattern=PO_PATTERN)
    session.commit()
    assert result == ImportResult(unchanged=2, rows=4)
    assert count(session, Document) == documents_before


def test_purchase_order_with_other_lines_is_an_error(db, session, catalogue_rows):
    """Guards against silently rewriting an order that may have been received against."""
    import_purchase_orders(session, io.StringIO(ORDERS))
    session.commit()
    changed = ORDERS.replace("PO-1043,OTHER,BULK,3", "PO-1043,OTHER,BULK,4") + "PO-1044,ACME,WID-1,1\n"
    with pytest.raises(ImportFailed) as exc:
        import_purchase_orders(session, io.StringIO(changed))
    assert (exc.value.line, exc.value.column) == (4, "reference")
    assert "PO-1043" in exc.value.message and "received" in exc.value.message
    session.rollback()
    with db.Session() as fresh:
        assert fresh.scalar(select(Document).where(Document.reference == "PO-1044")) is None
        assert order_lines(fresh, "PO-1043") == ("OTHER", [("BULK", 3)])


BAD_ORDER_ROWS = [
    pytest.param("PO-2,ACME,WID-1,five", "quantity", "five is not a whole number", id="quantity_not_a_number"),
    pytest.param("PO-2,ACME,WID-1,2.5", "quantity", "not a whole number", id="quantity_fraction"),
    pytest.param("PO-2,ACME,WID-1,0", "quantity", "positive", id="quantity_zero"),
    pytest.param("PO-2,ACME,WID-1,-3", "quantity", "-3 is not a whole number", id="quantity_negative"),
    pytest.param("PO-2,ACME,WID-1,99999999999", "quantity", "too large", id="quantity_too_large"),
    pytest.param("PO-2,ACME,WID-1,", "quantity", "an empty cell is not a whole number", id="quantity_empty"),
    pytest.param("PO-2,NOPE,WID-1,1", "supplier", "no supplier NOPE", id="unknown_supplier"),
    pytest.param("PO-2,,WID-1,1", "supplier", "empty", id="empty_supplier"),
    pytest.param("PO-2,ACME,NOPE,1", "product", "no product NOPE", id="unknown_product"),
    pytest.param("ORDER-2,ACME,WID-1,1", "reference", "pattern", id="reference_not_scannable"),
    pytest.param("PO-1,OTHER,WID-1,1", "supplier", "from ACME", id="one_order_two_suppliers"),
    pytest.param("PO-2,ACME,WID-1", "quantity", "not a whole number", id="value_missing"),
]


@pytest.mark.parametrize("bad, column, words", BAD_ORDER_ROWS)
def test_bad_purchase_order_row_imports_nothing(db, session, catalogue_rows, bad, column, words):
    """Guards against half a file of orders imported, an unknown supplier made up, or an error without its place."""
    text = ("reference,supplier,product,quantity\n"
            "PO-1,ACME,WID-1,5\n"
            "PO-3,ACME,LOOSE,1\n"
            f"{bad}\n"
            "PO-4,ACME,WID-1,5\n")
    with pytest.raises(ImportFailed) as exc:
        import_purchase_orders(session, io.StringIO(text), pattern=PO_PATTERN)
    assert (exc.value.line, exc.value.column) == (4, column)
    assert str(exc.value) == f"line 4, column {column}: {exc.value.reason}"
    assert words in exc.value.reason
    session.rollback()
    with db.Session() as fresh:
        assert count(fresh, Document) == 0
        assert sorted(fresh.scalars(select(Supplier.code))) == ["ACME", "OTHER"]


def test_purchase_order_reference_of_another_document(session, catalogue_rows):
    """Guards against a file's reference clashing with a station-numbered document."""
    doc = documents.open_document(session, DocumentKind.receipt)
    session.commit()
    text = f"reference,supplier,product,quantity\n{doc.reference},ACME,WID-1,1\n"
    with pytest.raises(ImportFailed) as exc:
        import_purchase_orders(session, io.StringIO(text))
    assert (exc.value.line, exc.value.column) == (2, "reference")
    assert "not a purchase order" in exc.value.message


@pytest.mark.parametrize(
    "header, column",
    [
        pytest.param("reference,supplier,product", "quantity", id="missing_quantity"),
        pytest.param("supplier,product,quantity", "reference", id="missing_reference"),
        pytest.param("reference,supplier,product,quantity,price", "price", id="unknown_column"),
    ],
)
def test_bad_purchase_order_header(session, catalogue_rows, header, column):
    """Guards against a header problem reported anywhere but line 1 and the column it concerns."""
    with pytest.raises(ImportFailed) as exc:
        import_purchase_orders(session, io.StringIO(header + "\nPO-1,ACME,WID-1\n"))
    assert (exc.value.line, exc.value.column) == (1, column)


def test_purchase_order_progress(session, catalogue_rows):
    """Guards against a progress bar for orders that stops short of the row count."""
    calls = []
    import_purchase_orders(session, io.StringIO(ORDERS), progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 4) and calls[-1] == (4, 4)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
