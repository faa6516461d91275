"""One scan's context: the session, the station, what the scan has looked up, and the document as it changes.

Passed explicitly to the reader's look-ups, the rules and the actions, so
that one scan asks about a barcode or a serial once and every part works
on the same facts, without objects pinned in the session or memo caches.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from station.config import Config, StationConfig
from station.domain import catalogue, documents, operators
from station.domain.facts import DocumentHead, ProductFacts, product_by_code
from station.domain.posting import Posted
from station.domain.rules import Lookups
from station.domain.vocabulary import SERIAL_MAX
from station.scan_core.reading import ProductInfo

from .sign_in import SignedIn
from .station_row import StationRow, info


@dataclass
class ScanContext:
    session: Session
    config: Config
    station: StationConfig
    row: StationRow
    user: str | None = None  # who the scan's lines record: the operator's code, else ``token_user``
    operator: SignedIn | None = None  # signed in now (a badge or CMD:LOGOUT of this scan changes it)
    token_user: str | None = None  # the caller's user (a token's name off loopback), for nobody signed in
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    lookups: Lookups = field(init=False)
    document: DocumentHead | None = field(init=False)
    posted: tuple[DocumentHead, Posted] | None = None  # the document CMD:FINISH posted, and how
    _products: dict[str, ProductFacts] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lookups = Lookups(self.session)
        self.document = self.row.document
        if self.row.product is not None:
            self._products[self.row.product.code] = self.row.product

    def product(self, code: str) -> ProductFacts:
        """A product by code: the one this scan already read, else from the database."""
        if code not in self._products:
            self._products[code] = product_by_code(self.session, code)
        return self._products[code]

    def known(self, facts: ProductFacts | None) -> ProductInfo | None:
        """Remember a product the reader found, and give the scan core its view of it."""
        if facts is not None:
            self._products[facts.code] = facts
        return info(facts)


class ReaderLookups:
    """The reader's questions (reading.Lookups), answered from the scan's context."""

    def __init__(self, ctx: ScanContext):
        self.ctx = ctx

    def product_by_barcode(self, text: str) -> ProductInfo | None:
        return self.ctx.known(self.ctx.lookups.product_by_barcode(text))

    def serial_product(self, text: str) -> tuple[bool, ProductInfo | None]:
        if len(text) > SERIAL_MAX:
            return False, None
        facts = self.ctx.lookups.serial(text)
        return facts.exists, self.ctx.known(facts.product)

    def serial_in_service(self, text: str) -> bool:
        return len(text) <= SERIAL_MAX and self.ctx.lookups.serial(text).in_service

    def party_exists(self, kind: str, code: str) -> bool:
        return catalogue.party_exists(self.ctx.session, kind, code)

    def order_exists(self, reference: str) -> bool:
        return documents.order_exists(self.ctx.session, reference)

    def operator_exists(self, code: str) -> bool:
        return operators.active_by_code(self.ctx.session, code) is not None
