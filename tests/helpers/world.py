"""The rules tests' world: products and parties made by name, so that each test module says which it needs and
every module's widget (or Bob) is the same one."""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from sqlalchemy.orm import Session

from helpers.database import count
from station.domain import catalogue, documents, posting, stock
from station.domain.errors import Refusal
from station.domain.models import Document, Movement, Product

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


def refused_unwritten(session: Session, doc: Document, code: str, **line) -> Refusal:
    """``line`` added to ``doc``: refused with ``code``, the document's lines as they were; committed, no movement
    written and stock consistent. The refusal, for what else a test reads in it."""
    lines, before = len(doc.lines), count(session, Movement)
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, doc, **line)
    assert exc.value.code == code
    assert len(doc.lines) == lines
    session.commit()
    assert count(session, Movement) == before
    assert stock.check(session) == []
    return exc.value


def takes_only_the_stock(session: Session, doc: Document, product: Product, too_many: int, rest: int) -> None:
    """``too_many`` more units of ``product`` refused on ``doc`` (``out_of_stock``), then the ``rest`` of its
    unserialised stock taken and posted: none left, stock consistent."""
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, doc, product=product, quantity=too_many)
    assert exc.value.code == "out_of_stock"
    documents.add_line(session, doc, product=product, quantity=rest)
    posting.post(session, doc)
    session.commit()
    assert product.unserialised_on_hand == 0
    assert stock.check(session) == []
