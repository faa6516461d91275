"""One scan's context: what stays put while it is carried out, and the Stand each action moves on.

``ScanContext`` is passed explicitly to the reader's look-ups, the rules and
the actions: the session, the station, its row as the scan found it, and
what the scan has looked up, so that one scan asks about a barcode or a
serial once and every part works on the same facts, without objects pinned
in the session or memo caches. It does not change during the scan (its
look-ups and products remembered aside).

``Stand`` is what does change: the open document as it stands after each
action, who is signed in, the last ``LOC:`` scanned on it (where the next
units go, or were found), the document CMD:FINISH posted, and the open
document's answer when the scan knows it without reading it (``shown``: as
read with the station's row, with the lines the scan added). It is frozen:
each action takes the one before it and returns the next with what it did
(actions.carry_out), and the service saves the last.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from station.config import Config, StationConfig
from station.domain import catalogue, documents, operators
from station.domain.facts import DocumentHead, ProductFacts, product_by_code
from station.domain.posting import Posted
from station.domain.rules import Lookups
from station.domain.vocabulary import SERIAL_MAX, DocumentKind
from station.scan_core.reading import LocationInfo, ProductInfo

from . import places
from .answer_read import Shown
from .counting import Progress
from .sign_in import SignedIn, user_of
from .station_row import StationRow, info


@dataclass(frozen=True)
class Stand:
    """Where a scan stands: the open document as it is now, who is signed in, and what CMD:FINISH posted."""

    document: DocumentHead | None
    operator: SignedIn | None  # a badge or CMD:LOGOUT of this scan changes it
    posted: tuple[DocumentHead, Posted] | None = None  # the document CMD:FINISH posted, and how
    place: LocationInfo | None = None  # the last LOC: scanned on the open document
    count: Progress | None = None  # a count's progress, as the count line just added left it
    shown: Shown | None = None  # the open document's answer as it stands, when known without reading it


@dataclass(frozen=True)
class ScanContext:
    session: Session
    config: Config
    station: StationConfig
    row: StationRow
    token_user: str | None = None  # the caller's user (a token's name off loopback), for nobody signed in
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    lookups: Lookups = field(init=False)
    _products: dict[str, ProductFacts] = field(default_factory=dict)
    _parties: dict[tuple[str, str], int | None] = field(default_factory=dict)
    _orders: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lookups", Lookups(self.session))
        if self.row.product is not None:
            self._products[self.row.product.code] = self.row.product
        if self.row.party is not None:  # asked with the station's row (station_row.load's ``party``)
            kind, code, found = self.row.party
            self._parties[kind, code] = found

    def start(self, signed: SignedIn | None) -> Stand:
        """Where the scan starts: the station's document as its row has it, and who is signed in now."""
        return Stand(self.row.document, signed, place=self.row.place, shown=self.row.shown)

    @property
    def home(self) -> LocationInfo | None:
        """The station's location (its ``location`` key), when it is an active one."""
        return self.row.home

    def user(self, stand: Stand) -> str | None:
        """Who the scan's lines record: the operator signed in, else the caller's user (SPEC 2)."""
        return user_of(stand.operator, self.token_user)

    def product(self, code: str) -> ProductFacts:
        """A product by code: the one this scan already read, else from the database."""
        if code not in self._products:
            self._products[code] = product_by_code(self.session, code)
        return self._products[code]

    def party(self, kind: str, code: str) -> int | None:
        """A supplier's or customer's id by code (None: none): the one this scan's reading asked about, else read."""
        if (kind, code) not in self._parties:
            self._parties[kind, code] = catalogue.party_id(self.session, kind, code)
        return self._parties[kind, code]

    def order(self, reference: str):
        """The document a scan opens one against, by reference (documents.find_order; None: none): the one this
        scan's reading asked about, else read."""
        if reference not in self._orders:
            self._orders[reference] = documents.find_order(self.session, reference)
        return self._orders[reference]

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
        return self.ctx.party(kind, code) is not None

    def order_exists(self, reference: str) -> bool:
        found = self.ctx.order(reference)
        return found is not None and found.kind == DocumentKind.purchase_order

    def operator_exists(self, code: str) -> bool:
        return operators.active_by_code(self.ctx.session, code) is not None

    def transfer_exists(self, reference: str) -> bool:
        return places.transfer_sent(self.ctx.session, reference)

    def location(self, code: str) -> LocationInfo | None:
        home = self.ctx.home
        return places.by_code(self.ctx.session, code, home.site_id if home else None)
