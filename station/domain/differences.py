"""What ``station check`` reports: a materialised figure that disagrees with what the movements say."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    """A materialised figure that disagrees with what the movements say.

    ``field`` names which of a serial's figures, when it is not in_stock.
    """

    what: str
    key: str
    stored: int | str
    derived: int | str
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.what} {self.key}" + (f" {self.field}" if self.field else "")
        return f"{where}: stored {self.stored}, movements say {self.derived}"
