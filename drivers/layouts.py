"""Keyboard layouts: which text a key types, given the keys held so far.

A layout sees every key press and release (except Ctrl, which the decoder
keeps to itself) and answers a press with the text it types, or "". The US
layout is a built-in table; any other goes through xkbcommon, an optional
import, so a station with only US scanners needs no C library.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

from .errors import LayoutUnavailable
from .keymap_us import (
    KEY_CAPSLOCK,
    KEY_NUMLOCK,
    KEY_RIGHTALT,
    KEYPAD_FIXED,
    KEYPAD_NUMLOCK,
    SHIFT_KEYS,
    US_LAYOUT,
)

logger = logging.getLogger(__name__)

# evdev key codes are xkb key codes minus 8 (the X11 convention xkb kept).
XKB_KEYCODE_OFFSET = 8
_LAYOUT_NAME = re.compile(r"^(?P<layout>[A-Za-z0-9_-]+)(?:\((?P<variant>[A-Za-z0-9_-]+)\))?$")


class Layout(Protocol):
    """What the decoder needs from a layout."""

    #: True when Right Alt is AltGr (a third level), not an Alt key.
    has_altgr: bool

    def key(self, code: int, pressed: bool) -> str:
        """Update the modifier state for this key; on a press return its text."""

    def release_modifiers(self) -> None:
        """Forget held keys (events were lost); lock states stay as they were."""


class UsLayout:
    """The built-in US layout: Shift, Caps Lock (letters only) and NumLock."""

    has_altgr = False

    def __init__(self, numlock: bool = True) -> None:
        self._shift: set[int] = set()
        self._capslock = False
        self._numlock = numlock

    def key(self, code: int, pressed: bool) -> str:
        if code in SHIFT_KEYS:
            (self._shift.add if pressed else self._shift.discard)(code)
            return ""
        if not pressed:
            return ""
        if code == KEY_CAPSLOCK:
            self._capslock = not self._capslock
            return ""
        if code == KEY_NUMLOCK:
            self._numlock = not self._numlock
            return ""
        if code in KEYPAD_FIXED:
            return KEYPAD_FIXED[code]
        if code in KEYPAD_NUMLOCK:
            # As xkb's "us": digits with NumLock on and no Shift, else End, Down...
            return KEYPAD_NUMLOCK[code] if self._numlock and not self._shift else ""
        plain, shifted = US_LAYOUT.get(code, ("", ""))
        shift = bool(self._shift)
        if plain.isalpha():
            shift ^= self._capslock
        return shifted if shift else plain

    def release_modifiers(self) -> None:
        self._shift.clear()


class XkbLayout:
    """Any layout xkbcommon knows, by RMLVO names ("de", "fr(azerty)")."""

    def __init__(self, name: str, numlock: bool = True) -> None:
        try:
            from xkbcommon import xkb
        except ImportError:
            raise LayoutUnavailable(name) from None
        match = _LAYOUT_NAME.match(name)
        if match is None:
            raise LayoutUnavailable(
                name, f"keyboard layout {name!r} is not a layout name like 'de' or 'de(nodeadkeys)'"
            )
        self._xkb = xkb
        # Environment names (XKB_DEFAULT_LAYOUT...) must not change what we decode.
        context = xkb.Context(no_environment_names=True)
        context.set_log_fn(_log_xkb)
        try:
            self._keymap = context.keymap_new_from_names(
                layout=match["layout"], variant=match["variant"]
            )
        except xkb.XKBKeymapCreationFailure:
            raise LayoutUnavailable(
                name, f"keyboard layout {name!r} is not known to xkbcommon"
            ) from None
        self._down, self._up = xkb.KeyDirection.XKB_KEY_DOWN, xkb.KeyDirection.XKB_KEY_UP
        self._state = self._keymap.state_new()
        altgr_sym = self._state.key_get_one_sym(KEY_RIGHTALT + XKB_KEYCODE_OFFSET)
        self.has_altgr = xkb.keysym_get_name(altgr_sym) == "ISO_Level3_Shift"
        if numlock:
            self._tap(KEY_NUMLOCK)

    def key(self, code: int, pressed: bool) -> str:
        keycode = code + XKB_KEYCODE_OFFSET
        # The text is read before the update, as xkbcommon recommends.
        text = self._state.key_get_string(keycode) if pressed else ""
        self._state.update_key(keycode, self._down if pressed else self._up)
        return text

    def release_modifiers(self) -> None:
        capslock = self._state.led_name_is_active("Caps Lock")
        numlock = self._state.led_name_is_active("Num Lock")
        self._state = self._keymap.state_new()
        if capslock:
            self._tap(KEY_CAPSLOCK)
        if numlock:
            self._tap(KEY_NUMLOCK)

    def _tap(self, code: int) -> None:
        self._state.update_key(code + XKB_KEYCODE_OFFSET, self._down)
        self._state.update_key(code + XKB_KEYCODE_OFFSET, self._up)


def load_layout(name: str, numlock: bool = True) -> Layout:
    """Return the layout called ``name``: the built-in table for "us", else xkb."""
    if name == "us":
        return UsLayout(numlock=numlock)
    return XkbLayout(name, numlock=numlock)


def _log_xkb(context: object, level: int, message: str) -> None:
    """Route libxkbcommon's messages to our log instead of stderr."""
    logger.debug("xkbcommon: %s", message.rstrip())
