"""Errors raised by the drivers: one root, a few precise subclasses.

Devices coming and going are not errors here (readers retry on their own);
these are the problems a person has to fix: a configuration that cannot work.
"""

from __future__ import annotations


class DriverError(Exception):
    """Root of every error the drivers package raises on purpose."""


class LayoutUnavailable(DriverError):
    """A keyboard layout was asked for that cannot be built on this machine."""

    def __init__(self, layout: str, reason: str | None = None) -> None:
        self.layout = layout
        if reason is None:
            reason = (
                f"keyboard layout {layout!r} needs the optional 'layouts' extra: "
                "pip install 'barcode-station[layouts]' "
                "(Debian: apt install libxkbcommon-dev first)"
            )
        super().__init__(reason)
