"""What the machine takes and gives: the station's State, the Actions a scan asks for, and the Decision.

All frozen: ``decide`` cannot change the state it is given, so a refusal
leaves the station as it was, and a decision cannot be half-applied.

A State is one the machine can reach, or it cannot be built: its phase is
one of its mode's ``PHASES`` (only a receiving station is ``sticky``, only
the service desk ``replacing``), an idle station has no document, no lines
and no chosen product, and a station waiting for a serial has its product.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from station.domain.vocabulary import DocumentKind, Mode, Phase

from .reading import LocationInfo, ProductInfo, Reading

#: The phases a station of each mode passes through: the machine's table has an entry for each of them and every kind.
PHASES: dict[Mode, tuple[Phase, ...]] = {
    Mode.receive: (Phase.idle, Phase.open, Phase.awaiting_serial, Phase.sticky),
    Mode.sell: (Phase.idle, Phase.open, Phase.awaiting_serial),
    Mode.return_: (Phase.idle, Phase.open, Phase.awaiting_serial),
    Mode.service: (Phase.idle, Phase.open, Phase.replacing),
    Mode.move: (Phase.idle, Phase.open),  # a LOC: (the destination) opens the move; every unit is one line
    Mode.count: (Phase.idle, Phase.open),  # a LOC: (the place counted) opens the count; every unit is one line
}


class Outcome(enum.StrEnum):
    """What a scan did, for the operator's message (prompts.message)."""

    mode_set = "mode_set"
    mode_kept = "mode_kept"
    document_opened = "document_opened"
    product_chosen = "product_chosen"
    product_dropped = "product_dropped"
    line_added = "line_added"
    serial_attached = "serial_attached"
    undone = "undone"
    cancelled = "cancelled"
    posted = "posted"
    signed_in = "signed_in"
    signed_out = "signed_out"
    replace_armed = "replace_armed"
    replace_dropped = "replace_dropped"
    label_queued = "label_queued"
    location_set = "location_set"  # a LOC: on the open document: where the next units go, or were found


@dataclass(frozen=True)
class State:
    mode: Mode
    document_kind: DocumentKind | None = None  # receipt | sale | customer_return | supplier_return | service_...
    phase: Phase = Phase.idle
    lines: int = 0
    product: ProductInfo | None = None  # waiting for its serial, sticky, or the last unserialised unit's
    # The last line is an unserialised unit added by the previous scan: a serial scanned next is attached to it.
    attach: bool = False

    def __post_init__(self) -> None:
        # Words given as plain text ("receive") read as the vocabulary's members, so `is` comparisons hold.
        object.__setattr__(self, "mode", Mode(self.mode))
        object.__setattr__(self, "phase", Phase(self.phase))
        if self.document_kind is not None:
            object.__setattr__(self, "document_kind", DocumentKind(self.document_kind))
        if self.phase not in PHASES[self.mode]:
            raise ValueError(f"a {self.mode} station is never {self.phase}")
        if (self.phase is Phase.idle) != (self.document_kind is None):
            raise ValueError(f"a {self.phase} station has {'no' if self.phase is Phase.idle else 'a'} document")
        if self.phase is Phase.idle and (self.lines or self.product is not None or self.attach):
            raise ValueError("an idle station has no lines and no chosen product")
        if self.phase in (Phase.awaiting_serial, Phase.sticky) and self.product is None:
            raise ValueError(f"a {self.phase} station has a chosen product")
        if self.phase is Phase.replacing and self.document_kind is not DocumentKind.service_check_out:
            raise ValueError("a replacing station has a check-out open")


# Actions: what the service carries out, in order.
@dataclass(frozen=True)
class SetMode:
    mode: Mode


@dataclass(frozen=True)
class OpenDocument:
    kind: DocumentKind
    supplier: str | None = None
    customer: str | None = None
    order: str | None = None
    walk_in: bool = False
    location: LocationInfo | None = None  # a move's, transfer's destination, the place a count counts


@dataclass(frozen=True)
class SetLocation:
    """A LOC: on the open document: the next units go there (put-away, a move's destination) or were found there."""

    location: LocationInfo


@dataclass(frozen=True)
class ChooseProduct:
    """A product is chosen to wait for its serials (a receipt against an order checks it is still expected)."""

    product: str


@dataclass(frozen=True)
class AddLine:
    product: str | None
    serial: str | None = None
    batch: str | None = None
    expiry: str | None = None


@dataclass(frozen=True)
class AttachSerial:
    serial: str


@dataclass(frozen=True)
class Undo:
    pass


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Post:
    pass


@dataclass(frozen=True)
class SignIn:
    """The operator with this badge code is the one at the station from now on (replacing whoever was)."""

    code: str


@dataclass(frozen=True)
class SignOut:
    pass


@dataclass(frozen=True)
class SwitchDocument:
    """The service desk's empty document gives way to one of the other kind, for the same customer, if that
    document would take the unit ``serial`` (else the refusal names the document open now)."""

    kind: DocumentKind
    serial: str | None = None


@dataclass(frozen=True)
class ArmReplacement:
    """CMD:REPLACE: the check-out's last unit is one a replacement can be given for (else the rules refuse)."""


@dataclass(frozen=True)
class AddReplacement:
    """A line of its own: ``serial`` replaces the check-out's last unit (rule 13)."""

    serial: str


@dataclass(frozen=True)
class PrintLastSerial:
    """Queue the label of the station's last scanned serial for its printer (the service knows both, or refuses)."""


Action = (SetMode | OpenDocument | ChooseProduct | AddLine | AttachSerial | Undo | Cancel | Post | SignIn | SignOut
          | SwitchDocument | ArmReplacement | AddReplacement | PrintLastSerial | SetLocation)


@dataclass(frozen=True)
class Decision:
    """What a scan does: the actions, the state after them, and the outcome to word for the operator."""

    actions: tuple[Action, ...]
    state: State
    outcome: Outcome
    reading: Reading
