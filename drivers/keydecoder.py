"""Key events from a keyboard-wedge scanner to scans: a pure, sans-IO decoder.

Theory of operation: the decoder is fed one evdev event at a time and answers
with the scans that event completed. Key releases and presses go to the
layout, which keeps Shift/Caps Lock/AltGr/NumLock and says what a press
types. The decoder itself keeps only what is about scans, not layouts:

- a scan ends at a terminator key (Enter, keypad Enter, Tab by default);
- a pause ends a scan only when it is longer than the pause limit: a
  scanner set without a terminator uses ``idle_gap`` (50 ms is usual), one
  with terminators ``lost_terminator`` (a second by default: a lost Enter
  must not glue two scans, yet a Bluetooth scanner sending a key every 80 ms
  or a person typing a code must still give one scan);
- the decoder reads no clock. Gaps *between keys* come from the events' own
  times (a negative gap, from a clock stepped back, counts as none), so a
  burst read long after it was typed splits exactly where the typing paused.
  "Nothing more came" is the reader's to measure: once it has drained the
  device, it tells ``pause(seconds)`` how long it has been, on a monotonic
  clock, since it read the last event; ``pause_limit`` says how long a pause
  would end the scan in progress (None: nothing pending, or no limit);
- Ctrl turns the next character into a control character (Ctrl+] is GS,
  0x1D, at the US key position whatever the layout, as scanners send it);
- Alt held while keypad digits are typed, then released, types the
  character with that decimal code (scanners' layout-independent mode);
- key repeats (value 2) are ignored;
- SYN_DROPPED: the kernel lost events. Everything up to and including the
  next SYN_REPORT is discarded, held modifiers are forgotten, and the scan
  in progress is dropped (with a warning) rather than emitted with holes: a
  serial number missing one character is still a valid-looking serial.
"""

from __future__ import annotations

import logging
from typing import Any

from .keymap_us import (
    CTRL_KEYS,
    EV_KEY,
    EV_SYN,
    KEY,
    KEY_ENTER,
    KEY_KPENTER,
    KEY_LEFTALT,
    KEY_RIGHTALT,
    KEY_RIGHTBRACE,
    KEY_TAB,
    KEYPAD_DIGITS,
    SYN_DROPPED,
    SYN_REPORT,
)
from .layouts import load_layout

logger = logging.getLogger(__name__)

GS = "\x1d"
DEFAULT_TERMINATORS = frozenset({"KEY_ENTER", "KEY_KPENTER", "KEY_TAB"})


class KeyDecoder:
    """Turns evdev key events into scans (text without the terminator)."""

    def __init__(
        self,
        layout: str = "us",
        terminators: frozenset[str] = DEFAULT_TERMINATORS,
        idle_gap: float | None = 0.05,
        lost_terminator: float | None = 1.0,
    ) -> None:
        unknown = sorted(name for name in terminators if name not in KEY)
        if unknown:
            raise ValueError(f"unknown terminator keys: {', '.join(unknown)}")
        for name, value in (("idle_gap", idle_gap), ("lost_terminator", lost_terminator)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive or None")
        self.layout_name = layout
        self.idle_gap = idle_gap
        self.lost_terminator = lost_terminator
        #: The pause that ends a scan: idle_gap without terminators, else lost_terminator.
        self.end_gap = lost_terminator if terminators else idle_gap
        self._layout = load_layout(layout)
        self._terminators = frozenset(KEY[name] for name in terminators)
        self._enter_ends = bool(self._terminators & {KEY_ENTER, KEY_KPENTER})
        self._tab_ends = KEY_TAB in self._terminators
        alt_keys = {KEY_LEFTALT}
        if not self._layout.has_altgr:
            alt_keys.add(KEY_RIGHTALT)
        self._alt_keys = frozenset(alt_keys)
        self._text: list[str] = []
        self._last_key_at: float | None = None
        self._ctrl: set[int] = set()
        self._alt: set[int] = set()
        self._alt_digits = ""
        self._dropping = False  # between SYN_DROPPED and the next SYN_REPORT
        self._damaged = False  # the scan in progress lost events

    def feed(self, event: Any) -> list[str]:
        """Take one InputEvent-like object; return the scans it completed."""
        at = event.sec + event.usec / 1_000_000
        if event.type == EV_SYN:
            return self._sync(event.code, at)
        if self._dropping or event.type != EV_KEY or event.value not in (0, 1):
            return []
        pressed = event.value == 1
        out = self._complete() if pressed and self._gap_elapsed(at) else []
        self._last_key_at = at
        self._key(event.code, pressed, out)
        return out

    @property
    def pause_limit(self) -> float | None:
        """Seconds of quiet after the last read event that would end the scan in progress; None: none would."""
        if self.end_gap is None or not (self._text or self._damaged):
            return None
        return self.end_gap

    def pause(self, seconds: float) -> list[str]:
        """The device is drained and nothing came for ``seconds`` (monotonic, since the last read event)."""
        limit = self.pause_limit
        return self._complete() if limit is not None and seconds > limit else []

    def flush(self) -> list[str]:
        """Return any pending text as a scan (end of a capture, say)."""
        return self._complete()

    def reset(self) -> None:
        """Start afresh, as for a newly plugged keyboard: nothing pending, held or locked."""
        if self._text:
            n = len(self._text)
            logger.warning("discarding %d character%s of an unfinished scan", n, "" if n == 1 else "s")
        self._text.clear()
        self._damaged = self._dropping = False
        self._release_modifiers()
        self._layout = load_layout(self.layout_name)  # Caps Lock off, NumLock on again

    def _sync(self, code: int, at: float) -> list[str]:
        if code == SYN_DROPPED:
            out = self._complete() if self._gap_elapsed(at) else []
            logger.warning("input events dropped by the kernel: the scan in progress is lost")
            self._dropping = self._damaged = True
            self._last_key_at = at
            return out
        if code == SYN_REPORT and self._dropping:
            self._dropping = False
            self._release_modifiers()
        return []

    def _key(self, code: int, pressed: bool, out: list[str]) -> None:
        if code in CTRL_KEYS:  # kept from the layout: we do Ctrl ourselves
            (self._ctrl.add if pressed else self._ctrl.discard)(code)
            return
        text = self._layout.key(code, pressed)
        if code in self._alt_keys:
            (self._alt.add if pressed else self._alt.discard)(code)
            if not self._alt and self._alt_digits:
                self._alt_code(out)
            return
        if not pressed:
            return
        if code in self._terminators:
            out += self._complete()
        elif self._alt and code in KEYPAD_DIGITS:
            self._alt_digits += KEYPAD_DIGITS[code]
        elif self._ctrl:
            self._emit(_control(code, text), out, deliberate=True)
        else:
            self._emit(text, out, deliberate=False)

    def _alt_code(self, out: list[str]) -> None:
        value, self._alt_digits = int(self._alt_digits), ""
        if 0 < value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
            self._emit(chr(value), out, deliberate=True)
        else:
            logger.warning("ignoring Alt code %d: no such character", value)

    def _emit(self, text: str, out: list[str], deliberate: bool) -> None:
        # CR/LF/Tab typed as Ctrl+M, Alt+013... end a scan like the keys do.
        for char in text:
            if (char in "\r\n" and self._enter_ends) or (char == "\t" and self._tab_ends):
                out += self._complete()
            elif deliberate or char.isprintable():
                self._text.append(char)

    def _gap_elapsed(self, at: float) -> bool:
        """True when the pause between the last key's event time and ``at`` ends the pending scan."""
        limit = self.pause_limit
        return limit is not None and self._last_key_at is not None and at - self._last_key_at > limit

    def _complete(self) -> list[str]:
        text = "".join(self._text)
        self._text.clear()
        if self._damaged:
            self._damaged = False
            if text:
                logger.warning("dropped a scan damaged by lost input events (%d chars)", len(text))
            return []
        return [text] if text else []

    def _release_modifiers(self) -> None:
        self._ctrl.clear()
        self._alt.clear()
        self._alt_digits = ""
        self._layout.release_modifiers()


def _control(code: int, text: str) -> str:
    """What Ctrl plus this key types: a C0 control character, or nothing."""
    if code == KEY_RIGHTBRACE:
        return GS
    upper = text.upper()
    if len(upper) == 1 and "A" <= upper <= "_":
        return chr(ord(upper) - 0x40)
    return ""
