"""The built-in US table and key codes, checked against xkbcommon and evdev."""

from __future__ import annotations

import itertools

import pytest
from evdev import ecodes

from drivers import keymap_us
from drivers.layouts import UsLayout, XkbLayout, load_layout

SHIFT = keymap_us.KEY["KEY_LEFTSHIFT"]
TYPING_KEYS = sorted(
    set(keymap_us.US_LAYOUT) | set(keymap_us.KEYPAD_NUMLOCK) | set(keymap_us.KEYPAD_FIXED)
)


def test_key_codes_are_the_kernels() -> None:
    """Guards the copied key codes: each must equal evdev's ecodes value."""
    for name, code in keymap_us.KEY.items():
        assert getattr(ecodes, name) == code, name
    assert (keymap_us.EV_KEY, keymap_us.EV_SYN, keymap_us.SYN_DROPPED) == (
        ecodes.EV_KEY,
        ecodes.EV_SYN,
        ecodes.SYN_DROPPED,
    )


def type_key(layout, code: int, shift: bool) -> str:
    if shift:
        layout.key(SHIFT, True)
    text = layout.key(code, True)
    layout.key(code, False)
    if shift:
        layout.key(SHIFT, False)
    return text


@pytest.mark.parametrize(
    ("capslock", "numlock"), list(itertools.product([False, True], repeat=2)), ids=lambda v: f"{v}"
)
def test_us_table_agrees_with_xkb_us(capslock: bool, numlock: bool) -> None:
    """Guards the hand-written table: it must type what xkbcommon's "us" layout types."""
    table, xkb = UsLayout(numlock=numlock), XkbLayout("us", numlock=numlock)
    if capslock:
        for layout in (table, xkb):
            type_key(layout, keymap_us.KEY_CAPSLOCK, shift=False)
    for code, shift in itertools.product(TYPING_KEYS, [False, True]):
        expected = type_key(xkb, code, shift)
        assert type_key(table, code, shift) == expected, (keymap_us.KEY_NAME[code], shift)


def test_load_layout_uses_the_table_for_us_only() -> None:
    """Guards the optional dependency: "us" must never need xkbcommon."""
    assert isinstance(load_layout("us"), UsLayout)
    assert isinstance(load_layout("us(intl)"), XkbLayout)


def test_us_key_strokes_refuses_what_a_us_keyboard_cannot_type() -> None:
    """Guards the simulator helper: no silent loss of characters it cannot type."""
    with pytest.raises(ValueError, match="é"):
        keymap_us.us_key_strokes("café")
