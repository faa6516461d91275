"""The records of SPEC 2 as typed SQLAlchemy models.

``SerialNumber.in_stock`` and ``Product.unserialised_on_hand`` are
materialised from the movements: only posting writes them, and
``station check`` recomputes both from the movements and reports any
difference. So are the service desk's ``SerialNumber.in_service``,
``faulty`` and ``warranty_until`` (SPEC 2, 3b); a serial's ``status`` is
read off them (representation.status). Rule 8 (a serial on at most one open document) is the partial
unique index ``uq_line_open_serial`` over ``DocumentLine.serial`` where the
line's document is open (``is_open``, kept in step with the document).

Locations (SPEC 3c) are materialised the same way: ``SerialNumber.location_id``
(where an in-stock serial is), ``SerialNumber.transfer_id`` (the transfer a
serial is on while in transit) and ``StockLevel`` (unserialised units per
product per location) are written by posting only, from the movements'
``from_location_id`` and ``to_location_id``; ``station check`` recomputes
them. ``Location.site_id`` is the site a location is under (a site's is its
own id), kept by the location commands when a parent changes.
"""
from __future__ import annotations

import enum
from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .vocabulary import (
    CODE_MAX,
    LOCATION_CODE_MAX,
    SERIAL_MAX,
    DeliveryState,
    DocumentKind,
    DocumentStatus,
    Mode,
    MovementKind,
    Phase,
    PrintJobState,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _where_set(table: str, *columns: str) -> list[Index]:
    """An index of each column over the rows where it is set (``ix_<table>_<column>``, as ``index=True`` names it)."""
    return [Index(f"ix_{table}_{column}", column, sqlite_where=text(f"{column} IS NOT NULL"),
                  postgresql_where=text(f"{column} IS NOT NULL")) for column in columns]


def _enum(cls: type[enum.Enum], length: int = 32) -> Enum:
    # Stored as plain strings: portable, and readable in psql.
    return Enum(cls, native_enum=False, length=length, validate_strings=True,
                values_callable=lambda e: [m.value for m in e])


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    serial_required_for_purchase: Mapped[bool] = mapped_column(Boolean, default=True)
    serial_required_for_sales: Mapped[bool] = mapped_column(Boolean, default=True)
    # Units in stock that carry no serial; written only by posting.
    unserialised_on_hand: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Months of warranty a sale (or a replacement) of one of its serials gives: 0-600, 0 none.
    warranty_months: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    barcodes: Mapped[list[ProductBarcode]] = relationship(
        back_populates="product", order_by="ProductBarcode.id", cascade="all, delete-orphan"
    )


class ProductBarcode(Base):
    __tablename__ = "product_barcode"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    # GTIN-14 for EAN-8/UPC-A/EAN-13/GTIN-14, anything else as given.
    barcode: Mapped[str] = mapped_column(String(SERIAL_MAX), unique=True)

    product: Mapped[Product] = relationship(back_populates="barcodes")


class Supplier(Base):
    __tablename__ = "supplier"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Location(Base):
    """A site (no parent) or a place under one, at any depth (SPEC 3c); scanned as ``LOC:<code>``."""

    __tablename__ = "location"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(LOCATION_CODE_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    # The site it is under (its own id for a site): "within the station's site" is one comparison.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Its GS1 Global Location Number (13 digits, checked by gln.py), when it has one: EPCIS names it by that.
    gln: Mapped[str | None] = mapped_column(String(13), unique=True)

    parent: Mapped[Location | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    site: Mapped[Location | None] = relationship(remote_side=[id], foreign_keys=[site_id])


class StockLevel(Base):
    """Unserialised units of a product at a location: materialised from the movements, by posting only."""

    __tablename__ = "stock_level"
    __table_args__ = (Index("ix_stock_level_location_id", "location_id"),)

    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SerialNumber(Base):
    __tablename__ = "serial_number"
    __table_args__ = (
        Index("ix_serial_number_product_in_stock", "product_id", "in_stock"),
        # The few serials at the service desk, for the overview's overdue list (each planner proves the
        # predicate from the query's own words: "in_service = 1" on SQLite, "in_service = true" on PostgreSQL).
        Index("ix_serial_number_in_service", "in_service",
              sqlite_where=text("in_service = 1"), postgresql_where=text("in_service")),
        # Columns that are NULL on most rows are indexed where set (migration 0010): a NULL costs no entry, so a
        # receipt's new serials write two index entries fewer each, and every query of these columns compares
        # them (= or IN, a join), which both planners take to imply IS NOT NULL.
        *_where_set("serial_number", "customer_id", "transfer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(SERIAL_MAX), unique=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    # Indexed where set (ix_serial_number_customer_id): most serials are with no customer.
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("supplier.id"), index=True)
    # Materialised from the movements: written only by posting (see module doc).
    in_stock: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Also materialised from the movements, by posting only: at our service desk (a check-in posted,
    # its check-out not yet); replaced by another unit and ours until it leaves; the warranty's last day.
    in_service: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    faulty: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    warranty_until: Mapped[date | None] = mapped_column(Date)
    # Where it is while in stock (NULL otherwise); the transfer it is on while in transit (NULL otherwise).
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    # Indexed where set (ix_serial_number_transfer_id): only the few in transit are on a transfer.
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))

    product: Mapped[Product | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
    supplier: Mapped[Supplier | None] = relationship()
    location: Mapped[Location | None] = relationship()


class Document(Base):
    __tablename__ = "document"
    __table_args__ = (Index("ix_document_station_status", "station", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(CODE_MAX), unique=True)
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind))
    status: Mapped[DocumentStatus] = mapped_column(_enum(DocumentStatus), default=DocumentStatus.open)
    station: Mapped[str | None] = mapped_column(String(CODE_MAX))
    user: Mapped[str | None] = mapped_column(String(CODE_MAX))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("supplier.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    # A receipt made against a purchase order points at it; an arrival (TI-) at its transfer (T-).
    order_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # How many lines it has: a line's number is the count after it was added (undo takes the last).
    line_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A count: the location counted (and all under it); a transfer or an arrival: where its units go.
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))

    supplier: Mapped[Supplier | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
    order: Mapped[Document | None] = relationship(remote_side=[id])
    lines: Mapped[list[DocumentLine]] = relationship(
        back_populates="document", order_by="DocumentLine.line_no", cascade="all, delete-orphan"
    )


class DocumentLine(Base):
    __tablename__ = "document_line"
    __table_args__ = (
        UniqueConstraint("document_id", "line_no"),
        # Rule 8, enforced by the database: a serial on at most one open document.
        Index(
            "uq_line_open_serial", "serial", unique=True,
            sqlite_where=text("is_open"), postgresql_where=text("is_open"),
        ),
        # A serial's lines, and whether one document has a line for it, each in one probe (migration 0009).
        Index("ix_document_line_serial_document", "serial", "document_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    # The serial text as scanned; the SerialNumber record is made on posting.
    serial: Mapped[str | None] = mapped_column(String(SERIAL_MAX))
    # Units; an adjustment line is signed, every other kind positive.
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    batch: Mapped[str | None] = mapped_column(String(64))
    expiry: Mapped[str | None] = mapped_column(String(16))
    # True while the document is open: the predicate of uq_line_open_serial.
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    # The line takes unserialised units out of stock (a sale of a unit, or of a serial never in stock).
    takes_unit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Who scanned it: the operator signed in at the station, else the token's name off loopback (SPEC 2).
    user: Mapped[str | None] = mapped_column(String(CODE_MAX))
    # On a service check-out: the faulty serial (on the line before) that this line's serial replaces.
    replaces: Mapped[str | None] = mapped_column(String(SERIAL_MAX))
    # Where the unit goes (a move's or transfer's destination, a receipt's put-away, an arrival's place),
    # or, on a count, the location counted: the LOC: scanned before it, else the station's location.
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))

    document: Mapped[Document] = relationship(back_populates="lines")
    product: Mapped[Product | None] = relationship()


class DocumentTally(Base):
    """Per document and product: the units on it, kept by every line added or undone.

    On an open document ``taken`` is the unserialised units it takes out of
    stock when posted (what a sale of the last unit must leave free). On a
    purchase order ``units`` is what is expected and ``received`` what posted
    receipts brought in. A scan reads these instead of adding up lines, so it
    costs the same on a document of five lines as on one of five thousand.
    """

    __tablename__ = "document_tally"

    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)
    units: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    taken: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    received: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    product: Mapped[Product] = relationship()


class Movement(Base):
    """One line's effect on stock. Its seven foreign keys are constraints on SQLite; on PostgreSQL triggers check
    them a statement at a time, by the same rules (migration 0011: a receipt's 30,000 movements are one INSERT)."""

    __tablename__ = "movement"
    __table_args__ = (
        Index("ix_movement_serial_id", "serial_id", "id"),
        Index("ix_movement_product_id", "product_id"),
        Index("ix_movement_document_id", "document_id"),
        Index("ix_movement_at", "at"),
        # A movement comes from a location or goes to one (rarely both): each is indexed where set (migration 0010).
        *_where_set("movement", "from_location_id", "to_location_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[MovementKind] = mapped_column(_enum(MovementKind))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    serial_id: Mapped[int | None] = mapped_column(ForeignKey("serial_number.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    station: Mapped[str | None] = mapped_column(String(CODE_MAX))
    user: Mapped[str | None] = mapped_column(String(CODE_MAX))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("supplier.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    # A sale or replacement: the months of warranty it gave (its product's at the time); NULL on other kinds.
    warranty_months: Mapped[int | None] = mapped_column(Integer)
    # Where the unit left and where it went (SPEC 3c): a unit going out names the first, coming in the second,
    # a move both; NULL where it was at no location (a customer's, or in transit).
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))

    product: Mapped[Product | None] = relationship()
    serial: Mapped[SerialNumber | None] = relationship()
    document: Mapped[Document | None] = relationship()
    supplier: Mapped[Supplier | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
    from_location: Mapped[Location | None] = relationship(foreign_keys=[from_location_id])
    to_location: Mapped[Location | None] = relationship(foreign_keys=[to_location_id])


class ScanLog(Base):
    __tablename__ = "scan_log"
    __table_args__ = (
        UniqueConstraint("station", "idempotency_key"),
        Index("ix_scan_log_station_id", "station", "id"),
        Index("ix_scan_log_serial_text", "serial_text"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    station: Mapped[str] = mapped_column(String(CODE_MAX))
    device: Mapped[str] = mapped_column(String(200))
    # Raw text, undecodable bytes written as \xNN: stored safely, shown escaped.
    raw: Mapped[str] = mapped_column(Text)
    read_as: Mapped[str | None] = mapped_column(String(32))
    # The serial this scan names, when it names one (a serial's history shows it).
    serial_text: Mapped[str | None] = mapped_column(String(SERIAL_MAX))
    # It named a serial CMD:PRINT can print: one it added to a document, or one the database knew, even refused.
    names_serial: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    accepted: Mapped[bool] = mapped_column(Boolean)
    code: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    prompt: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # The answer given, replayed when the same idempotency key comes again with the same data (its SHA-256).
    response: Mapped[str | None] = mapped_column(Text)
    data_digest: Mapped[str | None] = mapped_column(String(64))
    # Who was signed in at the station (else the token's name off loopback), as on the lines and movements.
    user: Mapped[str | None] = mapped_column(String(CODE_MAX))


class StationState(Base):
    """Per-station state of the scan state machine, so a restart resumes it."""

    __tablename__ = "station_state"

    station: Mapped[str] = mapped_column(String(CODE_MAX), primary_key=True)
    mode: Mapped[Mode] = mapped_column(_enum(Mode, length=16))
    phase: Mapped[Phase] = mapped_column(_enum(Phase, length=16), default=Phase.idle, server_default=Phase.idle.value)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    # The chosen product: waiting for its serial, or sticky while receiving.
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    # The last line is an unserialised unit that a serial scanned next is recorded on.
    attach_line: Mapped[bool] = mapped_column(Boolean, default=False)
    prompt: Mapped[str] = mapped_column(Text, default="")
    # Bumped on every change: the cheap change counter the live page watches.
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # Who is signed in (USR:<code>), and their last scan here: operator_idle_minutes counts from it.
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    operator_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last LOC: scanned on the open document (a move's destination, a receipt's put-away, a count's place).
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(CODE_MAX), unique=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExpectedSerial(Base):
    """A serial a supplier said it is shipping against a purchase order (ASN)."""

    __tablename__ = "expected_serial"
    __table_args__ = (UniqueConstraint("order_id", "serial"), Index("ix_expected_serial_serial", "serial"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    serial: Mapped[str] = mapped_column(String(SERIAL_MAX))

    product: Mapped[Product] = relationship()


class SerialCounter(Base):
    """The next number of each label prefix: serials reserved for labels are never issued twice."""

    __tablename__ = "serial_counter"

    prefix: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer, default=1)


class DeviceStatus(Base):
    """What the daemon last saw of each configured scanner, for /devices and the screen."""

    __tablename__ = "device_status"

    station: Mapped[str] = mapped_column(String(CODE_MAX), primary_key=True)
    device: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # connected | missing
    last_scan_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_scan: Mapped[str | None] = mapped_column(Text)
    backlog: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Operator(Base):
    """Who scans at a station: their badge holds ``USR:<code>`` (SPEC 2); deactivated, never deleted (lines name
    them)."""

    __tablename__ = "operator"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FeedEvent(Base):
    """One event of the integration feed: a posted document, or a record made or edited (station.domain.events).

    The id is assigned in commit order (see events.py), so a reader that asks
    for what follows the last id it saw never skips one; the event names its
    subject, whose JSON is rendered when the event is read.
    """

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    subject: Mapped[str] = mapped_column(String(16))  # document | serial | product | supplier | customer | location
    subject_id: Mapped[int] = mapped_column(Integer)


class Webhook(Base):
    """A configured webhook as the outbox knows it: how far into the feed its deliveries are made, and who sends them.

    ``cursor`` is the last event id turned into its deliveries (or passed over:
    a type it does not take). ``holder`` and ``lease_until``: the daemon that
    sends its deliveries, so that two boxes configured with one webhook never
    send it in parallel (station.webhooks.outbox).
    """

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    holder: Mapped[str | None] = mapped_column(String(300))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    """One event owed to one webhook: the durable outbox row, sent, retried and marked by the daemon's deliverer."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        Index("ix_webhook_delivery_webhook_state", "webhook_id", "state", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState, length=16), default=DeliveryState.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
# CMD:PRINT reads the station's last scan that named a serial (station.printing.scan_labels): an index of those
# scans alone, so the read is one index probe however many product and command scans came since. The
# predicate is written as the query's own (SQLite uses a partial index only for a term it finds verbatim).
Index("ix_scan_log_station_serial", ScanLog.station, ScanLog.id,
      sqlite_where=text("names_serial = 1"), postgresql_where=text("names_serial"))


class PrintJob(Base):
    """One label in the durable print queue: written with the scan or posting that asked for it, sent by the daemon.

    The daemon takes the oldest pending job of a printer (``claimed_by`` and
    ``claimed_until``: one daemon at a time, and an attempt whose end was never
    recorded is seen as one), sends it, and only then marks it printed.
    ``possibly_printed`` says an attempt may have printed it already (the
    printer did not confirm, or the daemon stopped mid-send): its label may
    exist twice. ``token`` (shared by the jobs queued together) and ``id`` name
    the job on the printer: the ZPL comment, the CUPS document.
    """

    __tablename__ = "print_job"
    __table_args__ = (
        Index("ix_print_job_state_printer_id", "state", "printer", "id"),
        Index("ix_print_job_printer_doubled", "printer", "possibly_printed", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    printer: Mapped[str] = mapped_column(String(CODE_MAX))
    serial: Mapped[str] = mapped_column(String(SERIAL_MAX))
    token: Mapped[str] = mapped_column(String(16))
    state: Mapped[PrintJobState] = mapped_column(_enum(PrintJobState, length=16), default=PrintJobState.pending)
    station: Mapped[str | None] = mapped_column(String(CODE_MAX))
    # The receipt whose posting queued it (print_on_receive), else None.
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    possibly_printed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last attempt's error: its stable code and the sentence for the operator.
    error_code: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    printed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PrinterStatus(Base):
    """What the daemon last saw of each configured printer (ready, offline, error), for /devices and the screen."""

    __tablename__ = "printer_status"

    printer: Mapped[str] = mapped_column(String(CODE_MAX), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # ready | offline | error
    detail: Mapped[str] = mapped_column(String(200), default="")  # "paper out", "not reachable"
    message: Mapped[str | None] = mapped_column(Text)  # the printer's or the driver's whole sentence
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
