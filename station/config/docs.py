"""The README's configuration example, written from the declaration in ``station.config.model``.

Every section in declaration order, every key of it as ``key = value  #
what it means``: the value is the key's example, else its default, and the
comment its doc, led by the words it takes and followed by its default when
the example shows another. A key of one kind only, or an alternative, is
shown commented out. ``tests/test_config_docs.py`` holds the README to it::

    python -m station.config.docs                 # print the example
    python -m station.config.docs --write README.md   # put it under "## Configuration"
"""
from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Any

from .declare import REQUIRED, Key, keys
from .model import Config

COMMENT_AT = 35  # the column the comments start in
HEADING = "## Configuration"


def example() -> str:
    """The ```toml block's text: each section's keys, then its sub-sections."""
    lines: list[str] = []
    _tables(Config, "", lines)
    return "\n".join(lines) + "\n"


def _tables(section: type, prefix: str, lines: list[str]) -> None:
    for k in keys(section):
        if k.section is None:
            continue
        if lines:
            lines.append("")
        name = prefix + k.name
        lines.append(_commented(f"[[{name}]]" if k.many else f"[{name}]", k.doc))
        lines.extend(_line(sub) for sub in keys(k.section) if sub.section is None)
        _tables(k.section, name + ".", lines)


def _line(k: Key) -> str:
    shown = k.about.example if k.about.example is not None else k.default
    text = ("# " if k.about.commented else "") + f"{k.name} = {toml(shown)}"
    doc = f"{' | '.join(k.choices)}: {k.doc}" if k.choices else k.doc
    if k.default not in (None, REQUIRED) and shown != k.default and "default" not in doc:
        doc += f" (default: {toml(k.default, quoted=False)})"
    return _commented(text, doc)


def _commented(text: str, comment: str) -> str:
    if not comment:
        return text
    return (text.ljust(COMMENT_AT) if len(text) < COMMENT_AT else text + "  ") + "# " + comment


def toml(value: Any, *, quoted: bool = True) -> str:
    """A value as TOML writes it (a pattern with backslashes in single quotes); ``quoted=False``: a bare text."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, (str, Path)):
        text = str(value)
        if not quoted:
            return text
        return f"'{text}'" if "\\" in text and "'" not in text else json.dumps(text, ensure_ascii=False)
    return str(value)


def readme_block(readme: str) -> tuple[int, int]:
    """Where the example's lines are in the README's text: the first ```toml block under ``## Configuration``."""
    start = readme.index("```toml\n", readme.index(HEADING + "\n")) + len("```toml\n")
    return start, readme.index("```\n", start)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--write"] and len(argv) == 2:
        path = Path(argv[1])
        readme = path.read_text(encoding="utf-8")
        start, end = readme_block(readme)
        path.write_text(readme[:start] + example() + readme[end:], encoding="utf-8")
        return 0
    if argv:
        print("usage: python -m station.config.docs [--write README.md]", file=sys.stderr)
        return 2
    sys.stdout.write(example())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
