"""The machine's table walked as data: every (mode, phase, kind) triple is a transition or a refusal, well formed.

test_scan_machine.py checks what ``decide`` answers for hand-built states;
this module checks the table itself, without running it: every legal triple
has an entry and no other does, each entry's branches name known guards and
actions and reach a phase the station can be in, each refusal has a stable
code (SPEC 4's, or one of the few the machine adds beside them, which README
documents), every name the table could use is used, and the diagram in
docs/scan-machine.md is the one drawn from the table today.
"""
from __future__ import annotations

import string
from pathlib import Path

import pytest

from station.domain.vocabulary import Mode, Phase
from station.scan_core import diagram
from station.scan_core.decisions import PHASES, Outcome
from station.scan_core.machine import TABLE
from station.scan_core.reading import Kind
from station.scan_core.steps import ACTIONS, GUARDS, STAY, WORDS, Go, Refuse

ROOT = Path(__file__).resolve().parent.parent

#: SPEC 4's refusal codes, word for word (those a scan's reading or the rules give are among them).
SPEC_CODES = {
    "unknown_barcode", "invalid_scan", "no_open_document", "serial_required", "serial_in_stock",
    "serial_on_open_document", "serial_wrong_product", "serial_has_customer", "serial_not_in_stock",
    "serial_no_customer", "unknown_party", "quantity_exceeds_order", "nothing_to_undo", "document_open",
    "unknown_document", "serial_in_service", "serial_not_in_service", "serial_wrong_customer", "serial_faulty",
    "unknown_operator", "operator_required", "nothing_to_print", "unknown_printer", "unknown_location",
    "serial_at_other_site", "serial_in_transit", "serial_already_there", "serial_not_on_transfer", "no_location",
    "already_counted",
}
#: The codes the machine adds beside SPEC 4's ("add more as needed"): each documented in README's list.
ADDED_CODES = {
    "wrong_mode",  # a party or CMD:REPLACE the mode does not take
    "empty_document",  # CMD:FINISH on a document without lines
    "nothing_to_replace",  # CMD:REPLACE with no checked-out unit to replace
    "location_at_other_site",  # a LOC: of another site where the station works on its own (put-away, counts)
}

LEGAL = [(mode, phase, kind) for mode in PHASES for phase in PHASES[mode] for kind in Kind]


def _id(triple) -> str:
    return "-".join(part.value for part in triple)


def test_the_table_holds_every_legal_triple_and_nothing_else():
    """Guards the h11 promise: a (mode, phase, kind) the station can meet has an entry, and a key that is not in
    the table is a state that cannot be built (a mode added to PHASES without rows, or rows for a phase it lacks)."""
    assert set(TABLE) == set(LEGAL)
    assert all(Phase.idle in phases and Phase.open in phases for phases in PHASES.values())
    assert set(PHASES) == set(Mode)


@pytest.mark.parametrize("triple", LEGAL, ids=_id)
def test_each_entry_is_transitions_or_refusals_with_their_codes(triple):
    """Guards each entry's shape: branches tried in order, the last one unconditional (so ``decide`` always finds
    one) and none before it; guards and actions that exist; a transition's next phase one the station can be in
    after its actions (a mode change lands in idle, an order's receipt in receiving); a refusal's code stable (SPEC
    4's or a documented addition) and its message's fields known words."""
    mode, phase, kind = triple
    entry = TABLE[triple]
    assert entry, "an empty entry"
    assert not entry[-1].when, "the last branch has guards: a scan could match none"
    assert all(branch.when for branch in entry[:-1]), "a branch after an unconditional one is never taken"
    for branch in entry:
        assert {guard.removeprefix("not:") for guard in branch.when} <= set(GUARDS), branch.when
        if isinstance(branch, Refuse):
            assert branch.code in SPEC_CODES | ADDED_CODES, branch.code
            fields = {name for _, name, _, _ in string.Formatter().parse(branch.message) if name}
            assert fields <= set(WORDS), fields - set(WORDS)
            assert branch.message.strip().endswith("."), branch.message
            continue
        assert isinstance(branch, Go) and isinstance(branch.said, Outcome)
        assert set(branch.do) <= set(ACTIONS), set(branch.do) - set(ACTIONS)
        then = phase if branch.then is STAY else branch.then
        assert isinstance(then, Phase)
        if "set_mode" in branch.do:  # to the mode scanned: a phase every mode has
            assert all(then in phases for phases in PHASES.values())
        elif "set_receive" in branch.do:
            assert then in PHASES[Mode.receive]
        else:
            assert then in PHASES[mode], f"{mode.value} has no phase {then.value}"


def test_the_refusals_added_beside_spec_4_are_documented():
    """Guards against a refusal code the API answers that README's "Refusal codes" paragraph does not list."""
    used = {branch.code for entry in TABLE.values() for branch in entry if isinstance(branch, Refuse)}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = readme[readme.index("Refusal codes:"):]
    paragraph = paragraph[:paragraph.index("\n\n")]
    assert used - SPEC_CODES <= ADDED_CODES
    assert all(f"`{code}`" in paragraph for code in ADDED_CODES)


@pytest.mark.parametrize("names, used", [
    pytest.param(GUARDS, lambda branch: {guard.removeprefix("not:") for guard in branch.when}, id="guards"),
    pytest.param(ACTIONS, lambda branch: set(branch.do) if isinstance(branch, Go) else set(), id="actions"),
    pytest.param(WORDS, lambda branch: {name for _, name, _, _ in string.Formatter().parse(branch.message) if name}
                 if isinstance(branch, Refuse) else set(), id="words"),
])
def test_every_named_guard_action_and_word_is_used(names, used):
    """Guards against dead vocabulary: a guard, action or word the table no longer names still read as if it
    mattered (a maintainer would change it and see nothing happen)."""
    named = set().union(*(used(branch) for entry in TABLE.values() for branch in entry))
    assert set(names) == named, set(names) ^ named


def test_the_diagram_is_drawn_from_the_table_of_today():
    """Guards docs/scan-machine.md against going stale: it is regenerated from the table and must match the
    committed page (regenerate it with the command in the message)."""
    page = ROOT / "docs" / "scan-machine.md"
    assert page.read_text(encoding="utf-8") == diagram.render(), (
        f"docs/scan-machine.md is not the table's diagram: run `.venv/bin/{diagram.COMMAND}` and commit it")


def test_the_diagram_draws_every_transition_and_lists_every_refusal():
    """Guards the drawing against dropping branches: every transition is an arrow (or said once for a kind every
    phase answers alike) and every refusal code of a mode appears under its diagram."""
    sections = {part.split("\n", 1)[0]: part for part in diagram.render().split("\n## ")[1:]}
    for mode in PHASES:
        section = sections[mode.value]
        for phase in PHASES[mode]:
            for kind in Kind:
                for branch in TABLE[mode, phase, kind]:
                    if isinstance(branch, Refuse):
                        assert f"| {kind.value} |" in section and f"`{branch.code}`" in section
                    else:
                        assert diagram.label(kind, branch) in section, (mode, phase, kind, branch)


def test_the_readme_links_the_diagram():
    """Guards the way in: README's Development section points at the generated page."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    development = readme[readme.index("## Development"):]
    assert "docs/scan-machine.md" in development
