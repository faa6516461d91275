"""The machine drawn from its table: docs/scan-machine.md, one Mermaid state diagram per mode.

Nothing here knows a transition the table does not hold: each ``Go`` branch
is an arrow from its phase to its next phase, labelled ``kind [guards] /
actions``; where its actions change the mode, the arrow leaves for that
mode's phase (``open (receive)``) or for ``idle (mode scanned)``. A kind
whose entry is the same in every phase of a mode and only ever stays (a
badge, CMD:LOGOUT, CMD:PRINT) is said once under the diagram instead of
looping on every phase. Refusals change nothing, so they are a table under
each diagram. ``python -m station.scan_core.diagram > docs/scan-machine.md``
writes the page; tests/test_scan_table.py fails while the page is stale.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, replace

from station.domain.vocabulary import Mode, Phase

from .decisions import PHASES, State
from .machine import TABLE
from .reading import Kind, Reading
from .steps import ACTIONS, STAY, Draft, Entry, Go, Refuse

COMMAND = "python -m station.scan_core.diagram > docs/scan-machine.md"
_MODE_SCANNED = "scanned"

HEAD = f"""# The scan machine

<!-- Generated from station/scan_core/machine.py's TABLE by `{COMMAND}`:
     change the table, then regenerate (tests/test_scan_table.py checks this page is current). -->

What each kind of scan does in each mode and phase of a station, drawn
from the table that *is* the machine (`station/scan_core/machine.py`). An
arrow is a transition, labelled `kind [guards] / actions`: the guards must
all hold (`not` negates one), the actions are carried out in order, and the
station moves to the arrow's phase. An entry's branches are tried in order
and the first whose guards hold is taken, so a later arrow or refusal of the
same kind also means "none before it held". Refusals leave the station where
it was; each mode's are listed under its diagram with their stable codes.
The guards and actions are named in `station/scan_core/steps.py`; the kinds
are `station/scan_core/reading.py`'s (SPEC 4's order of precedence).
"""


def _guards(when: tuple[str, ...]) -> str:
    return ", ".join(g.replace("not:", "not ") for g in when)


def label(kind: Kind, branch: Go) -> str:
    """A transition's label: ``kind [guards] / actions``."""
    label = kind.value + (f" [{_guards(branch.when)}]" if branch.when else "")
    return label + (f" / {', '.join(branch.do)}" if branch.do else "")


def _mode_after(mode: Mode, phase: Phase, branch: Go) -> Mode | str:
    """The mode a transition leaves the station in, from its actions' effects (``scanned``: the mode scanned)."""
    state = State(mode) if phase is Phase.idle else State(mode, mode.document_kind, Phase.open)
    draft = Draft(**{field.name: getattr(state, field.name) for field in fields(State)})
    reading = Reading(Kind.mode, "", mode=None)
    for name in branch.do:
        draft = replace(draft, **ACTIONS[name].effect(draft, reading))
    return _MODE_SCANNED if draft.mode is None else draft.mode


def _same_everywhere(mode: Mode) -> set[Kind]:
    """The kinds whose entry is one and the same in every phase of the mode."""
    phases = PHASES[mode]
    return {kind for kind in Kind if len({TABLE[mode, phase, kind] for phase in phases}) == 1}


def _stays(entry: Entry) -> bool:
    """Whether an entry transitions at all, and only ever to the phase it is in."""
    moves = [branch for branch in entry if isinstance(branch, Go)]
    return bool(moves) and all(branch.then is STAY for branch in moves)


def _arrows(mode: Mode, folded: set[Kind]) -> Iterator[str]:
    """One arrow per transition branch (but those of ``folded`` kinds), then the states of other modes they reach."""
    elsewhere: dict[str, str] = {}
    for phase in PHASES[mode]:
        for kind in Kind:
            if kind in folded:
                continue
            for branch in TABLE[mode, phase, kind]:
                if not isinstance(branch, Go):
                    continue
                then = phase if branch.then is STAY else branch.then
                after = _mode_after(mode, phase, branch)
                target = then.value
                if after != mode:
                    target = f"{after}_{then.value}"
                    elsewhere[target] = f"{then.value} ({'mode scanned' if after == _MODE_SCANNED else after})"
                yield f"    {phase.value} --> {target}: {label(kind, branch)}"
    for name, words in elsewhere.items():
        yield f'    state "{words}" as {name}'


def _refusals(mode: Mode) -> Iterator[str]:
    """One row per refusal branch: where, for which kind, when; a kind refused alike everywhere once."""
    same = _same_everywhere(mode)
    done: set[Kind] = set()
    for phase in PHASES[mode]:
        for kind in Kind:
            if kind in done:
                continue
            every = kind in same
            if every:
                done.add(kind)
            for n, branch in enumerate(TABLE[mode, phase, kind]):
                if isinstance(branch, Refuse):
                    where = "every phase" if every else phase.value
                    when = _guards(branch.when) or ("otherwise" if n else "always")
                    yield f"| {where} | {kind.value} | {when} | `{branch.code}` |"


def _mode(mode: Mode) -> Iterator[str]:
    folded = {kind for kind in _same_everywhere(mode) if _stays(TABLE[mode, Phase.idle, kind])}
    yield f"## {mode.value}"
    yield ""
    yield "```mermaid"
    yield "stateDiagram-v2"
    yield "    [*] --> idle"
    yield from _arrows(mode, folded)
    yield "```"
    yield ""
    said = []
    for kind in sorted(folded, key=list(Kind).index):
        said += [f"`{label(kind, b)}`" for b in TABLE[mode, Phase.idle, kind] if isinstance(b, Go)]
    if said:
        yield f"In every phase, and the phase stays: {', '.join(said)}."
        yield ""
    yield "| phase | scan | when | refused with |"
    yield "|---|---|---|---|"
    yield from _refusals(mode)


def render() -> str:
    """The page: the head, then each mode's diagram, what every phase does alike, and its refusals."""
    parts = [HEAD]
    for mode in PHASES:
        parts.append("\n".join(_mode(mode)) + "\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
