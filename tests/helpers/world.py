"""The rules tests' world: products and parties made by name, so that each test module says which it needs and
every module's widget (or Bob) is the same one."""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from sqlalchemy.orm import Session

from station.domain import catalogue

#: What each name makes, always with the same code and name.
MAKERS: dict[str, Callable[[Session], object]] = {
    "widget": lambda s: catalogue.create_product(s, "WID-1", "Widget"),
    "gadget": lambda s: catalogue.create_product(s, "GAD-1", "Gadget"),
    # received by quantity: no serial at purchase
    "loose": lambda s: catalogue.create_product(s, "LOOSE", "Loose part", serial_required_for_purchase=False),
    # kept as unserialised units
    "bulk": lambda s: catalogue.create_product(s, "BULK", "Cable", serial_required_for_purchase=False,
                                               serial_required_for_sales=False),
    "acme": lambda s: catalogue.create_party(s, "supplier", "ACME", "Acme Ltd"),
    "other": lambda s: catalogue.create_party(s, "supplier", "OTHER", "Other Ltd"),
    "bob": lambda s: catalogue.create_party(s, "customer", "BOB", "Bob"),
    "eve": lambda s: catalogue.create_party(s, "customer", "EVE", "Eve"),
}


def make_world(session: Session, *names: str) -> SimpleNamespace:
    """The named products and parties, made in the order given and committed: ``world.widget``, ``world.bob``..."""
    world = SimpleNamespace(**{name: MAKERS[name](session) for name in names})
    session.commit()
    return world
