"""The rows of a bench fill: N serials and about 5N movements, made by arithmetic.

The rows are what posting would have written: every serial's movements add
up to its ``in_stock`` (and put it at the site MAIN while in stock), every
movement belongs to a posted document whose lines name the serial, and supplier and customer are those of its last
receipt and sale. ``station check`` passes on the result.

Each serial follows one of four histories (movements of a document share
its time, as posting writes them):

- ``i % 4`` in (0, 1): receipt, sale, customer return, supplier return,
  receipt -- 5 movements, in stock;
- ``i % 4 == 2``: receipt, sale, customer return, sale -- 4, sold;
- ``i % 4 == 3``: receipt, sale, customer return, sale, customer return,
  sale -- 6, sold.

That is 5 movements a serial on average, half the serials in stock. Serials
are grouped in boxes; the serials of a box that take one step together stand
on one document.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

R, S, CR, SR = "receipt", "sale", "customer_return", "supplier_return"
HISTORIES = {
    0: (R, S, CR, SR, R),
    1: (R, S, CR, SR, R),
    2: (R, S, CR, S),
    3: (R, S, CR, S, CR, S),
}
SIGN = {R: 1, S: -1, CR: 1, SR: -1}
# The documents of one box: (step, kind) -> slot, so document id = box * len(SLOTS) + slot + 1.
SLOTS = {(0, R): 0, (1, S): 1, (2, CR): 2, (3, SR): 3, (3, S): 4, (4, R): 5, (4, CR): 6, (5, S): 7}
PREFIX = {R: "R", S: "S", CR: "CR", SR: "SR"}
STEP = timedelta(days=30)
FILL_STATION = "fill"

COLUMNS = {
    "product": ("id", "code", "name", "serial_required_for_purchase", "serial_required_for_sales",
                "unserialised_on_hand", "created_at"),
    "product_barcode": ("id", "product_id", "barcode"),
    "supplier": ("id", "code", "name"),
    "customer": ("id", "code", "name"),
    "location": ("id", "code", "name", "parent_id", "site_id", "active", "created_at"),
    "document": ("id", "reference", "kind", "status", "station", "user", "supplier_id", "customer_id",
                 "order_id", "reason", "created_at", "posted_at"),
    "serial_number": ("id", "serial", "product_id", "customer_id", "supplier_id", "in_stock", "created_at",
                      "location_id"),
    "document_line": ("id", "document_id", "line_no", "product_id", "serial", "quantity", "batch", "expiry",
                      "is_open", "created_at"),
    "movement": ("id", "at", "kind", "product_id", "serial_id", "quantity", "document_id", "station", "user",
                 "supplier_id", "customer_id", "from_location_id", "to_location_id"),
    "scan_log": ("id", "at", "station", "device", "raw", "read_as", "serial_text", "accepted", "code",
                 "message", "prompt", "idempotency_key", "response"),
}
# Parents before children, so foreign keys hold row by row.
ORDER = ("product", "product_barcode", "supplier", "customer", "location", "document", "serial_number",
         "document_line", "movement", "scan_log")


def ean13(body12: str) -> str:
    """An EAN-13 with its GS1 check digit."""
    total = sum(int(d) * (3 if n % 2 else 1) for n, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class Shape:
    """How many of each record a fill makes, and the names it gives them."""

    serials: int
    products: int
    suppliers: int
    customers: int
    box: int = 50
    locations: int = 0  # under MAIN: aisles of 24 bins each, the units in stock spread over the bins

    @classmethod
    def for_serials(cls, n: int, box: int = 50, locations: int = 0) -> Shape:
        return cls(serials=n, products=max(20, n // 200), suppliers=20, customers=max(100, n // 100), box=box,
                   locations=locations)

    def aisles(self) -> int:
        """Of the locations, how many are aisles (the rest are their bins); none when there are none."""
        return (self.locations + 24) // 25 if self.locations > 1 else self.locations

    # Names the scan drive uses too.
    @staticmethod
    def serial(i: int) -> str:
        return f"SN{i:09d}"

    @staticmethod
    def product_code(p: int) -> str:
        return f"P{p:06d}"

    @staticmethod
    def barcode(p: int) -> str:
        """The EAN-13 on product p's label (stored as its GTIN-14)."""
        return ean13(f"20{p:010d}")

    @staticmethod
    def supplier_code(s: int) -> str:
        return f"SUP{s:03d}"

    def product_of(self, i: int) -> int:
        return (i % self.products) + 1

    @staticmethod
    def in_stock(i: int) -> bool:
        return i % 4 in (0, 1)

    def boxes(self) -> int:
        return math.ceil(self.serials / self.box)


class Rows:
    """The rows of a fill, made chunk by chunk so that a million serials never sit in memory at once."""

    def __init__(self, shape: Shape, *, now: datetime | None = None, main: int = 1):
        self.shape = shape
        self.main = main  # the site MAIN (SPEC 3c): every unit in stock is under it, every movement names it
        now = now or datetime.now(UTC)
        self.base = now - STEP * 7
        self.span = STEP * 0.8  # the boxes' times spread over most of a step

    def supplier(self, box: int, step: int) -> int:
        return (box * 3 + step) % self.shape.suppliers + 1

    def customer(self, box: int, step: int) -> int:
        return (box * 7 + step) % self.shape.customers + 1

    def place(self, box: int) -> int:
        """Where a box's units are while in stock: MAIN itself, or one of its bins (the boxes dealt in turn)."""
        sh = self.shape
        aisles = sh.aisles()
        bins = sh.locations - aisles
        if not sh.locations:
            return self.main
        if not bins:
            return self.main + 1 + box % aisles
        return self.main + 1 + aisles + box % bins

    def at(self, box: int, step: int) -> datetime:
        return self.base + STEP * step + self.span * (box / max(self.shape.boxes(), 1))

    def reference_data(self) -> dict[str, list[tuple]]:
        sh, t0 = self.shape, self.base - STEP
        return {
            "product": [(p, sh.product_code(p), f"Product {p}", True, True, 0, t0) for p in range(1, sh.products + 1)],
            "product_barcode": [(p, p, "0" + sh.barcode(p)) for p in range(1, sh.products + 1)],
            "supplier": [(s, sh.supplier_code(s), f"Supplier {s}") for s in range(1, sh.suppliers + 1)],
            "customer": [(c, f"CUST{c:06d}", f"Customer {c}") for c in range(1, sh.customers + 1)],
            "location": self.locations(t0),
        }

    def locations(self, t0: datetime) -> list[tuple]:
        """The aisles under MAIN (``A001``...), then their bins (``A001-B01``...), bin k in aisle k modulo aisles."""
        sh, main = self.shape, self.main
        aisles = sh.aisles()
        rows = [(main + 1 + a, f"A{a + 1:03d}", f"Aisle {a + 1}", main, main, True, t0) for a in range(aisles)]
        for k in range(sh.locations - aisles):
            aisle = k % aisles
            rows.append((main + 1 + aisles + k, f"A{aisle + 1:03d}-B{k // aisles + 1:02d}",
                         f"Aisle {aisle + 1}, bin {k // aisles + 1}", main + 1 + aisle, main, True, t0))
        return rows

    def chunks(self, boxes_per_chunk: int) -> Iterator[dict[str, list[tuple]]]:
        """Rows per table for consecutive runs of boxes."""
        sh = self.shape
        line_id = movement_id = scan_id = 0
        nslots = len(SLOTS)
        for first in range(0, sh.boxes(), boxes_per_chunk):
            out: dict[str, list[tuple]] = {t: [] for t in ("document", "serial_number", "document_line",
                                                           "movement", "scan_log")}
            for box in range(first, min(first + boxes_per_chunk, sh.boxes())):
                lo, hi = box * sh.box + 1, min((box + 1) * sh.box, sh.serials)
                kinds_seen: set[tuple[int, str]] = set()
                for i in range(lo, hi + 1):
                    for step, kind in enumerate(HISTORIES[i % 4]):
                        kinds_seen.add((step, kind))
                times = {step: self.at(box, step) for step in range(6)}
                for (step, kind) in sorted(kinds_seen, key=SLOTS.__getitem__):
                    doc_id = box * nslots + SLOTS[(step, kind)] + 1
                    supplier = (self.supplier(box, step) if kind == R
                                else (self.supplier(box, 0) if kind == SR else None))
                    customer = (self.customer(box, step) if kind == S
                                else (self.customer(box, step - 1) if kind == CR else None))
                    out["document"].append((doc_id, f"FILL-{PREFIX[kind]}-{doc_id}", kind, "posted", FILL_STATION, None,
                                            supplier, customer, None, None, times[step], times[step]))
                for i in range(lo, hi + 1):
                    history = HISTORIES[i % 4]
                    product = sh.product_of(i)
                    text = sh.serial(i)
                    last_receipt = max(s for s, k in enumerate(history) if k == R)
                    sold = history[-1] == S
                    place = self.place(box)
                    out["serial_number"].append((
                        i, text, product, self.customer(box, len(history) - 1) if sold else None,
                        self.supplier(box, last_receipt), not sold, times[0], None if sold else place,
                    ))
                    line_no = i - lo + 1
                    for step, kind in enumerate(history):
                        doc_id = box * nslots + SLOTS[(step, kind)] + 1
                        line_id += 1
                        movement_id += 1
                        out["document_line"].append((line_id, doc_id, line_no, product, text, 1, None, None, False,
                                                     times[step]))
                        if kind in (R, SR):
                            supplier = self.supplier(box, step) if kind == R else self.supplier(box, 0)
                            customer = None
                        else:
                            supplier = None
                            customer = self.customer(box, step) if kind == S else self.customer(box, step - 1)
                        out["movement"].append((movement_id, times[step], kind, product, i, SIGN[kind], doc_id,
                                                FILL_STATION, None, supplier, customer,
                                                place if SIGN[kind] < 0 else None,
                                                place if SIGN[kind] > 0 else None))
                    if i % 5 == 0:
                        # A refused scan now and then, so histories hold some (rule 10).
                        scan_id += 1
                        out["scan_log"].append((
                            scan_id, times[0] + timedelta(hours=1), FILL_STATION, "fill", text, "known_serial", text,
                            False, "serial_on_open_document", f"Serial {text} is on another open document.",
                            "", None, None,
                        ))
            yield out
