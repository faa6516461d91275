"""Linux key codes and the built-in US keyboard layout table.

The codes are the kernel's (linux/input-event-codes.h, a stable ABI), kept
here so the decoder runs without python-evdev; a test checks them against
``evdev.ecodes``. The table says what each key types on a US layout, the way
xkbcommon's "us" layout does (another test compares the two).
"""

from __future__ import annotations

EV_SYN = 0x00
EV_KEY = 0x01
EV_MSC = 0x04
SYN_REPORT = 0
SYN_CONFIG = 1
SYN_MT_REPORT = 2
SYN_DROPPED = 3
SYN_NAMES = {
    "SYN_REPORT": SYN_REPORT,
    "SYN_CONFIG": SYN_CONFIG,
    "SYN_MT_REPORT": SYN_MT_REPORT,
    "SYN_DROPPED": SYN_DROPPED,
}

_CODES = {
    "ESC": 1, "1": 2, "2": 3, "3": 4, "4": 5, "5": 6, "6": 7, "7": 8,
    "8": 9, "9": 10, "0": 11, "MINUS": 12, "EQUAL": 13, "BACKSPACE": 14,
    "TAB": 15, "Q": 16, "W": 17, "E": 18, "R": 19, "T": 20, "Y": 21,
    "U": 22, "I": 23, "O": 24, "P": 25, "LEFTBRACE": 26, "RIGHTBRACE": 27,
    "ENTER": 28, "LEFTCTRL": 29, "A": 30, "S": 31, "D": 32, "F": 33,
    "G": 34, "H": 35, "J": 36, "K": 37, "L": 38, "SEMICOLON": 39,
    "APOSTROPHE": 40, "GRAVE": 41, "LEFTSHIFT": 42, "BACKSLASH": 43,
    "Z": 44, "X": 45, "C": 46, "V": 47, "B": 48, "N": 49, "M": 50,
    "COMMA": 51, "DOT": 52, "SLASH": 53, "RIGHTSHIFT": 54,
    "KPASTERISK": 55, "LEFTALT": 56, "SPACE": 57, "CAPSLOCK": 58,
    "NUMLOCK": 69, "SCROLLLOCK": 70, "KP7": 71, "KP8": 72, "KP9": 73,
    "KPMINUS": 74, "KP4": 75, "KP5": 76, "KP6": 77, "KPPLUS": 78,
    "KP1": 79, "KP2": 80, "KP3": 81, "KP0": 82, "KPDOT": 83, "102ND": 86,
    "KPENTER": 96, "RIGHTCTRL": 97, "KPSLASH": 98, "RIGHTALT": 100,
    "KPEQUAL": 117, "LEFTMETA": 125, "RIGHTMETA": 126,
}

#: Key name (as evdev spells it, ``"KEY_ENTER"``) to kernel key code.
KEY: dict[str, int] = {f"KEY_{name}": code for name, code in _CODES.items()}
#: Kernel key code to key name.
KEY_NAME: dict[int, str] = {code: name for name, code in KEY.items()}

SHIFT_KEYS = frozenset({KEY["KEY_LEFTSHIFT"], KEY["KEY_RIGHTSHIFT"]})
CTRL_KEYS = frozenset({KEY["KEY_LEFTCTRL"], KEY["KEY_RIGHTCTRL"]})
KEY_LEFTALT = KEY["KEY_LEFTALT"]
KEY_RIGHTALT = KEY["KEY_RIGHTALT"]
KEY_CAPSLOCK = KEY["KEY_CAPSLOCK"]
KEY_NUMLOCK = KEY["KEY_NUMLOCK"]
KEY_ENTER = KEY["KEY_ENTER"]
KEY_KPENTER = KEY["KEY_KPENTER"]
KEY_TAB = KEY["KEY_TAB"]
KEY_RIGHTBRACE = KEY["KEY_RIGHTBRACE"]

#: Keypad keys that type a digit (or '.') only while NumLock is on; also the
#: digits of an Alt code.
KEYPAD_NUMLOCK: dict[int, str] = {
    KEY[f"KEY_KP{d}"]: str(d) for d in range(10)
} | {KEY["KEY_KPDOT"]: "."}
KEYPAD_DIGITS: dict[int, str] = {
    code: text for code, text in KEYPAD_NUMLOCK.items() if text.isdigit()
}
#: Keypad keys that type the same whatever NumLock and Shift say.
KEYPAD_FIXED: dict[int, str] = {
    KEY["KEY_KPSLASH"]: "/",
    KEY["KEY_KPASTERISK"]: "*",
    KEY["KEY_KPMINUS"]: "-",
    KEY["KEY_KPPLUS"]: "+",
    KEY["KEY_KPEQUAL"]: "=",
}

# Each main-block key: what it types without and with Shift.
_US_PAIRS = {
    "GRAVE": "`~", "1": "1!", "2": "2@", "3": "3#", "4": "4$", "5": "5%",
    "6": "6^", "7": "7&", "8": "8*", "9": "9(", "0": "0)", "MINUS": "-_",
    "EQUAL": "=+", "LEFTBRACE": "[{", "RIGHTBRACE": "]}",
    "BACKSLASH": "\\|", "SEMICOLON": ";:", "APOSTROPHE": "'\"",
    "COMMA": ",<", "DOT": ".>", "SLASH": "/?", "SPACE": "  ", "102ND": "<>",
} | {letter: letter.lower() + letter for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}

#: Key code to (unshifted, shifted) text on a US layout.
US_LAYOUT: dict[int, tuple[str, str]] = {
    KEY[f"KEY_{name}"]: (pair[0], pair[1]) for name, pair in _US_PAIRS.items()
}

# The reverse table, for typing text as a scanner would (tests, simulators).
_US_STROKES: dict[str, tuple[int, bool]] = {"\t": (KEY_TAB, False), "\n": (KEY_ENTER, False)}
for _code, (_plain, _shifted) in US_LAYOUT.items():
    _US_STROKES.setdefault(_plain, (_code, False))
    _US_STROKES.setdefault(_shifted, (_code, True))


def us_key_strokes(text: str) -> list[tuple[int, int]]:
    """Return the (key code, value) presses and releases that type ``text`` on
    a US layout, as a keyboard-wedge scanner sends them (Shift per character;
    "\n" is Enter, "\t" is Tab)."""
    strokes: list[tuple[int, int]] = []
    shift = KEY["KEY_LEFTSHIFT"]
    for char in text:
        try:
            code, shifted = _US_STROKES[char]
        except KeyError:
            raise ValueError(f"{char!r} cannot be typed on a US layout") from None
        if shifted:
            strokes.append((shift, 1))
        strokes += [(code, 1), (code, 0)]
        if shifted:
            strokes.append((shift, 0))
    return strokes
