"""KeyDecoder on hand-built event streams: layouts, modifiers, scan endings."""

from __future__ import annotations

import string
import sys

import pytest
from evdev import InputEvent, ecodes
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import DriverError, LayoutUnavailable
from drivers.keydecoder import GS, KeyDecoder
from drivers.keymap_us import KEY, us_key_strokes

T0 = 1_700_000_000.0
K = KEY  # short alias: K["KEY_A"]
PRINTABLE_ASCII = string.digits + string.ascii_letters + string.punctuation + " "


class Keyboard:
    """Builds events the way the kernel reports them: each key event then SYN_REPORT."""

    def __init__(self, start: float = T0, step: float = 0.002) -> None:
        self.now = start
        self.step = step

    def event(self, type_: int, code: int, value: int) -> InputEvent:
        sec = int(self.now)
        return InputEvent(sec, round((self.now - sec) * 1_000_000), type_, code, value)

    def strokes(self, strokes: list[tuple[int, int]]) -> list[InputEvent]:
        events = []
        for code, value in strokes:
            self.now += self.step
            events.append(self.event(ecodes.EV_KEY, code, value))
            events.append(self.event(ecodes.EV_SYN, ecodes.SYN_REPORT, 0))
        return events

    def tap(self, *names: str) -> list[InputEvent]:
        """Press the keys in order, then release them in reverse (a chord)."""
        codes = [K[name] for name in names]
        return self.strokes([(c, 1) for c in codes] + [(c, 0) for c in reversed(codes)])

    def type(self, text: str) -> list[InputEvent]:
        return self.strokes(us_key_strokes(text))

    def pause(self, seconds: float) -> None:
        self.now += seconds


def decode(decoder: KeyDecoder, events: list[InputEvent]) -> list[str]:
    scans: list[str] = []
    for event in events:
        scans += decoder.feed(event)
    return scans


@pytest.fixture
def kb() -> Keyboard:
    return Keyboard()


@settings(deadline=None)  # no flaky time limit on a loaded CI machine
@given(st.text(alphabet=PRINTABLE_ASCII, min_size=1))
def test_us_types_every_printable_ascii_character(text: str) -> None:
    """Guards the US table: any printable ASCII a scanner types comes back unchanged."""
    kb = Keyboard()
    assert decode(KeyDecoder(), kb.type(text) + kb.tap("KEY_ENTER")) == [text]


def test_right_shift_works_like_left_shift(kb: Keyboard) -> None:
    """Guards against tracking only KEY_LEFTSHIFT: some scanners use the right one."""
    events = kb.tap("KEY_RIGHTSHIFT", "KEY_A") + kb.type("b") + kb.tap("KEY_ENTER")
    assert decode(KeyDecoder(), events) == ["Ab"]


def test_caps_lock_affects_letters_only(kb: Keyboard) -> None:
    """Guards Caps Lock: letters flip case (Shift undoes it), digits and symbols don't."""
    events = kb.tap("KEY_CAPSLOCK") + kb.type("ab1!A") + kb.tap("KEY_CAPSLOCK") + kb.type("c")
    assert decode(KeyDecoder(), events + kb.tap("KEY_ENTER")) == ["AB1!ac"]


def test_keypad_digits_and_keypad_enter(kb: Keyboard) -> None:
    """Guards scanners that send digits from the keypad and end with keypad Enter."""
    events = kb.tap("KEY_KP1") + kb.tap("KEY_KP2") + kb.tap("KEY_KPDOT") + kb.tap("KEY_KP3")
    events += kb.tap("KEY_KPMINUS") + kb.tap("KEY_KPENTER")
    assert decode(KeyDecoder(), events) == ["12.3-"]


def test_numlock_off_keypad_digits_type_nothing(kb: Keyboard) -> None:
    """Guards NumLock toggling: with it off, KP1 is End and types no digit."""
    events = kb.tap("KEY_NUMLOCK") + kb.tap("KEY_KP1") + kb.tap("KEY_NUMLOCK") + kb.tap("KEY_KP2")
    assert decode(KeyDecoder(), events + kb.tap("KEY_ENTER")) == ["2"]


def test_ctrl_right_bracket_is_group_separator(kb: Keyboard) -> None:
    """Guards GS1 scans: Ctrl+] must become 0x1D between the element strings."""
    events = kb.type("]C10109501101020917") + kb.tap("KEY_LEFTCTRL", "KEY_RIGHTBRACE")
    events += kb.type("21SN1")
    assert decode(KeyDecoder(), events + kb.tap("KEY_ENTER")) == [f"]C10109501101020917{GS}21SN1"]


def test_ctrl_m_ends_the_scan_like_enter(kb: Keyboard) -> None:
    """Guards scanners in 'Ctrl+ASCII' mode, which send the CR suffix as Ctrl+M."""
    events = kb.type("ABC") + kb.tap("KEY_RIGHTCTRL", "KEY_M")
    events += kb.type("D") + kb.tap("KEY_LEFTCTRL", "KEY_B")
    assert decode(KeyDecoder(), events + kb.tap("KEY_ENTER")) == ["ABC", "D\x02"]


def alt_code(kb: Keyboard, digits: str, alt: str = "KEY_LEFTALT") -> list[InputEvent]:
    codes = [(K[f"KEY_KP{d}"], v) for d in digits for v in (1, 0)]
    return kb.strokes([(K[alt], 1), *codes, (K[alt], 0)])


@pytest.mark.parametrize(
    ("digits", "numlock_taps", "expected"),
    [
        pytest.param("065", 0, "A", id="ascii"),
        pytest.param("0233", 0, "é", id="latin1_with_leading_zero"),
        pytest.param("029", 0, GS, id="group_separator"),
        pytest.param("066", 1, "B", id="numlock_off"),
    ],
)
def test_alt_code_types_the_character(
    kb: Keyboard, digits: str, numlock_taps: int, expected: str
) -> None:
    """Guards Alt-code mode: Alt held over keypad digits types chr(decimal) on release."""
    events = []
    for _ in range(numlock_taps):
        events += kb.tap("KEY_NUMLOCK")
    events += kb.type("x") + alt_code(kb, digits) + kb.type("y") + kb.tap("KEY_ENTER")
    assert decode(KeyDecoder(), events) == [f"x{expected}y"]


def test_alt_code_013_ends_the_scan(kb: Keyboard) -> None:
    """Guards Alt-code scanners that send their CR suffix as Alt+013 too."""
    events = alt_code(kb, "083") + alt_code(kb, "078") + alt_code(kb, "013", alt="KEY_RIGHTALT")
    assert decode(KeyDecoder(), events) == ["SN"]


@pytest.mark.parametrize(
    "digits", [pytest.param("0", id="zero"), pytest.param("9999999", id="beyond_unicode")]
)
def test_alt_code_out_of_range_is_ignored(kb: Keyboard, digits: str) -> None:
    """Guards against chr() raising on a code no character has."""
    events = kb.type("a") + alt_code(kb, digits) + kb.type("b") + kb.tap("KEY_ENTER")
    assert decode(KeyDecoder(), events) == ["ab"]


def test_key_repeats_are_ignored(kb: Keyboard) -> None:
    """Guards against autorepeat (value 2) doubling characters of a held key."""
    events = kb.strokes([(K["KEY_A"], 1), (K["KEY_A"], 2), (K["KEY_A"], 2), (K["KEY_A"], 0)])
    assert decode(KeyDecoder(), events + kb.tap("KEY_ENTER")) == ["a"]


def test_lost_enter_is_recovered_after_a_long_pause(kb: Keyboard) -> None:
    """Guards a lost Enter: a key after a pause longer than lost_terminator ends the glued scan first."""
    decoder = KeyDecoder()  # terminators, lost_terminator 1 s
    first = decode(decoder, kb.type("SN-1"))
    kb.pause(1.5)
    assert first == []
    assert decode(decoder, kb.type("SN-2") + kb.tap("KEY_ENTER")) == ["SN-1", "SN-2"]


@pytest.mark.parametrize(
    ("step", "pause"),
    [
        pytest.param(0.002, 0.0, id="scanner_speed"),
        pytest.param(0.080, 0.0, id="bluetooth_scanner_a_key_every_80ms"),
        pytest.param(0.150, 0.7, id="a_person_typing_who_stops_to_think"),
    ],
)
def test_with_a_terminator_only_a_long_pause_ends_a_scan(step: float, pause: float) -> None:
    """Guards SPEC 4: with Enter configured, slow keys and pauses under a second never split a scan."""
    kb = Keyboard(step=step)
    events = kb.type("SN-")
    kb.pause(pause)
    events += kb.type("80MS") + kb.tap("KEY_ENTER") + kb.type("NEXT") + kb.tap("KEY_ENTER")
    decoder = KeyDecoder()
    scans = decode(decoder, events)
    assert decoder.pause(0.999) == []  # the reader drained the device; under a second changes nothing
    assert scans == ["SN-80MS", "NEXT"]


def test_pause_completes_a_scan_without_suffix(kb: Keyboard) -> None:
    """Guards scanners set without a suffix: the reader's drained-and-quiet notice ends the scan."""
    decoder = KeyDecoder(terminators=frozenset(), idle_gap=0.05)
    assert decode(decoder, kb.type("NOSUFFIX")) == []
    assert decoder.pause_limit == 0.05
    assert decoder.pause(0.01) == []
    assert decoder.pause(0.06) == ["NOSUFFIX"]
    assert decoder.pause_limit is None  # nothing pending: no pause can end anything
    assert decoder.pause(1.0) == []


def test_without_suffix_a_gap_between_keys_splits_a_burst_read_at_once(kb: Keyboard) -> None:
    """Guards two suffix-less scans read in one burst after the reader was held up: split at the typing gap."""
    decoder = KeyDecoder(terminators=frozenset(), idle_gap=0.05)
    events = kb.type("FIRST")
    kb.pause(0.3)
    events += kb.type("SECOND")
    assert decode(decoder, events) == ["FIRST"]
    assert decoder.pause(0.06) == ["SECOND"]


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(T0, id="now"),
        pytest.param(T0 - 30 * 365 * 86400, id="thirty_years_ago"),
        pytest.param(T0 + 40 * 365 * 86400, id="forty_years_ahead"),
        pytest.param(12.5, id="seconds_since_boot"),
    ],
)
def test_event_times_from_any_clock_change_nothing(start: float) -> None:
    """Guards the root of issue 13: whatever clock stamped the events, only the gaps between them count."""
    kb = Keyboard(start=start)
    events = kb.type("CMD:SELL") + kb.tap("KEY_ENTER") + kb.type("SN-UMOCK-1") + kb.tap("KEY_ENTER")
    assert decode(KeyDecoder(), events) == ["CMD:SELL", "SN-UMOCK-1"]
    no_suffix = KeyDecoder(terminators=frozenset(), idle_gap=0.05)
    events = kb.type("CMD:SELL")
    kb.pause(0.2)
    assert decode(no_suffix, events + kb.type("SN-UMOCK-1")) + no_suffix.pause(0.06) == ["CMD:SELL", "SN-UMOCK-1"]


def test_a_clock_stepped_back_between_keys_does_not_split() -> None:
    """Guards a negative gap (event times from a clock stepped back mid-scan): it is no pause at all."""
    kb = Keyboard()
    events = kb.type("SN-")
    kb.now -= 3600
    events += kb.type("BACK") + kb.tap("KEY_ENTER")
    assert decode(KeyDecoder(terminators=frozenset({"KEY_ENTER"}), idle_gap=0.05), events) == ["SN-BACK"]


def test_a_2000_character_code_read_in_one_burst_is_one_scan() -> None:
    """Guards a long 2D code waiting in the kernel while the reader was held up: one scan, whole."""
    code = "".join(PRINTABLE_ASCII[i % len(PRINTABLE_ASCII)] for i in range(2000))
    kb = Keyboard(start=T0 - 3 * 86400)  # typed long ago, as far as any clock can tell
    decoder = KeyDecoder()
    assert decode(decoder, kb.type(code) + kb.tap("KEY_ENTER")) == [code]


def test_without_any_pause_limit_only_terminators_and_flush_end_scans(kb: Keyboard) -> None:
    """Guards idle_gap and lost_terminator off: slow typing must not split a scan."""
    decoder = KeyDecoder(idle_gap=None, lost_terminator=None)
    events = kb.type("AB")
    kb.pause(5)
    events += kb.type("CD")
    assert decode(decoder, events) == []
    assert decoder.pause_limit is None
    assert decoder.pause(60) == []
    assert decoder.flush() == ["ABCD"]
    assert decoder.flush() == []


def test_terminators_are_configurable(kb: Keyboard) -> None:
    """Guards a Tab-only configuration: Enter then types nothing and ends nothing."""
    decoder = KeyDecoder(terminators=frozenset({"KEY_TAB"}))
    events = kb.type("A") + kb.tap("KEY_ENTER") + kb.type("B") + kb.tap("KEY_TAB")
    assert decode(decoder, events) == ["AB"]


def test_empty_scans_are_not_reported(kb: Keyboard) -> None:
    """Guards against an Enter alone (or CRLF suffixes) producing empty scans."""
    events = kb.tap("KEY_ENTER") + kb.type("A") + kb.tap("KEY_ENTER") + kb.tap("KEY_TAB")
    assert decode(KeyDecoder(), events) == ["A"]


def test_non_key_events_are_ignored(kb: Keyboard) -> None:
    """Guards against EV_MSC scan codes or LED events being read as keys."""
    events = [kb.event(ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70004), kb.event(ecodes.EV_LED, 0, 1)]
    assert decode(KeyDecoder(), events + kb.type("a") + kb.tap("KEY_ENTER")) == ["a"]


def test_syn_dropped_discards_through_the_next_syn_report(kb: Keyboard) -> None:
    """Guards SYN_DROPPED: the damaged scan is not emitted with holes, the next one is intact."""
    decoder = KeyDecoder()
    events = kb.type("SN-1") + [kb.event(ecodes.EV_KEY, K["KEY_LEFTSHIFT"], 1)]
    events += [kb.event(ecodes.EV_SYN, ecodes.SYN_DROPPED, 0)]
    # Events after the drop, up to and including SYN_REPORT, are stale: discarded.
    events += [kb.event(ecodes.EV_KEY, K["KEY_X"], 1)]
    events += [kb.event(ecodes.EV_SYN, ecodes.SYN_REPORT, 0)]
    events += kb.type("23") + kb.tap("KEY_ENTER")
    # The Shift release was lost: the next scan must not come out in capitals.
    events += kb.type("sn-2") + kb.tap("KEY_ENTER")
    assert decode(decoder, events) == ["sn-2"]


@pytest.mark.parametrize("layout", ["us", "de"])
def test_reset_forgets_pending_text_held_keys_and_locks(kb: Keyboard, layout: str) -> None:
    """Guards a replug: half a scan, a held Shift or Caps Lock must not leak into the next scan."""
    decoder = KeyDecoder(layout=layout)
    decode(decoder, kb.tap("KEY_CAPSLOCK") + kb.tap("KEY_NUMLOCK") + kb.type("ab"))
    decode(decoder, kb.strokes([(K["KEY_LEFTSHIFT"], 1)]))
    decoder.reset()
    assert decode(decoder, kb.tap("KEY_C") + kb.tap("KEY_KP1") + kb.tap("KEY_ENTER")) == ["c1"]


def test_unknown_terminator_name_is_refused() -> None:
    """Guards configuration typos: an unknown key name must fail at start-up."""
    with pytest.raises(ValueError, match="KEY_ENTR"):
        KeyDecoder(terminators=frozenset({"KEY_ENTR"}))


# -- other layouts, through xkbcommon --


def test_german_layout(kb: Keyboard) -> None:
    """Guards the de layout: Y/Z swapped, Shift+2 is '"', AltGr+Q is '@', Ctrl+] still GS."""
    events = kb.tap("KEY_Y") + kb.tap("KEY_Z") + kb.tap("KEY_LEFTSHIFT", "KEY_2")
    events += kb.tap("KEY_RIGHTALT", "KEY_Q") + kb.tap("KEY_LEFTSHIFT", "KEY_MINUS")
    events += kb.tap("KEY_LEFTCTRL", "KEY_RIGHTBRACE") + kb.tap("KEY_ENTER")
    assert decode(KeyDecoder(layout="de"), events) == [f'zy"@?{GS}']


def test_german_right_alt_is_altgr_not_alt_code(kb: Keyboard) -> None:
    """Guards AltGr layouts: Right Alt is a level shift there, only Left Alt starts Alt codes."""
    events = alt_code(kb, "065") + alt_code(kb, "7", alt="KEY_RIGHTALT") + kb.tap("KEY_ENTER")
    assert decode(KeyDecoder(layout="de"), events) == ["A7"]


def test_french_layout(kb: Keyboard) -> None:
    """Guards the fr layout: AZERTY letters, digits need Shift, AltGr+0 is '@'."""
    events = kb.tap("KEY_Q") + kb.tap("KEY_W") + kb.tap("KEY_A") + kb.tap("KEY_1")
    events += kb.tap("KEY_LEFTSHIFT", "KEY_1") + kb.tap("KEY_LEFTSHIFT", "KEY_2")
    events += kb.tap("KEY_RIGHTALT", "KEY_0") + kb.tap("KEY_ENTER")
    assert decode(KeyDecoder(layout="fr"), events) == ["azq&12@"]


def test_french_caps_lock_and_keypad(kb: Keyboard) -> None:
    """Guards xkb state handling: Caps Lock and NumLock (on at start) in an xkb layout."""
    events = kb.tap("KEY_CAPSLOCK") + kb.tap("KEY_Q") + kb.tap("KEY_KP4") + kb.tap("KEY_KP2")
    assert decode(KeyDecoder(layout="fr"), events + kb.tap("KEY_KPENTER")) == ["A42"]


def test_layout_variant_in_parentheses(kb: Keyboard) -> None:
    """Guards 'layout(variant)' names: de(nodeadkeys) types '^' where plain de has a dead key."""
    events = kb.tap("KEY_GRAVE") + kb.type("1") + kb.tap("KEY_ENTER")
    assert decode(KeyDecoder(layout="de"), events) == ["1"]
    assert decode(KeyDecoder(layout="de(nodeadkeys)"), events) == ["^1"]


def test_non_us_layout_without_xkbcommon_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the optional extra: without xkbcommon, 'de' fails with install instructions."""
    monkeypatch.setitem(sys.modules, "xkbcommon", None)  # makes the import fail
    with pytest.raises(LayoutUnavailable) as caught:
        KeyDecoder(layout="de")
    assert isinstance(caught.value, DriverError)
    assert str(caught.value) == (
        "keyboard layout 'de' needs the optional 'layouts' extra: "
        "pip install 'barcode-station[layouts]' (Debian: apt install libxkbcommon-dev first)"
    )
    KeyDecoder(layout="us")  # the built-in layout needs nothing


@pytest.mark.parametrize(
    "name",
    [pytest.param("xx", id="unknown_layout"), pytest.param("de;rm -rf", id="not_a_layout_name")],
)
def test_unknown_layout_is_a_clear_error(name: str) -> None:
    """Guards a layout typo: it must fail at start-up, naming the layout."""
    with pytest.raises(LayoutUnavailable, match="is not"):
        KeyDecoder(layout=name)
