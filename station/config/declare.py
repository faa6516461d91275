"""How a configuration key is declared: once, as a field of its section, with its type, default and meaning.

A section is a frozen dataclass in ``station.config.model``, and each of its
keys one field made by :func:`key`::

    port: int = key(8700, "the port it listens on", lo=0, hi=65535)

The field's name is the key's name; its annotation the value the key takes
(``str``, ``int``, ``bool``, ``Path``, a ``Literal`` or an enum of the words
it takes, ``X | None`` when it may be left unset, a tuple of those, another
section or a tuple of sections for ``[[tables]]``); its default what the
station runs with when the key is left out (none: the key must be given);
``lo``/``hi`` bound a whole number; ``check`` refuses, or settles, what a type
cannot say (a time zone that exists, a pattern that compiles); ``example`` is
what the README's example shows when it is not the default, and ``commented``
shows the line commented out (an alternative, or a key of one kind only).

``station.config.parse`` reads a file by these fields, refusals and
defaults included, and ``station.config.docs`` writes the README's example
from them, so a new key is one ``key(...)`` line here and its README line,
regenerated.
"""
from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

REQUIRED: Any = dataclasses.MISSING  # a key that has no default: the file must give it


@dataclass(frozen=True)
class Place:
    """Where a value was read: the table it is in (for the refusal's sentence) and the file (for relative paths)."""

    where: str
    source: Path | None = None


Check = Callable[[Any, Place], Any]  # the value read (or its default) -> the value kept; raises ConfigError


@dataclass(frozen=True)
class About:
    """What a key's field says beside its type and default: its meaning and its limits."""

    doc: str
    lo: int | None = None
    hi: int | None = None
    check: Check | None = None
    example: Any = None  # TOML has no None: none given, the README shows the default
    commented: bool = False


def key(default: Any, doc: str, *, lo: int | None = None, hi: int | None = None, check: Check | None = None,
        example: Any = None, commented: bool = False) -> Any:
    """A key of a section: a dataclass field carrying its meaning (a section class as default: a fresh one each)."""
    about = {"key": About(doc, lo, hi, check, example, commented)}
    if isinstance(default, type) and dataclasses.is_dataclass(default):
        return dataclasses.field(default_factory=default, metadata=about)
    return dataclasses.field(default=default, metadata=about)


@dataclass(frozen=True)
class Key:
    """One declared key, resolved: the field's name and default, its type taken apart, and its ``About``."""

    name: str
    base: Any  # str, int, bool, Path, a Literal, an enum, or a section class
    many: bool  # a TOML array of base
    optional: bool  # may be unset (None)
    default: Any  # REQUIRED when the file must give it
    about: About

    @property
    def doc(self) -> str:
        return self.about.doc

    @property
    def section(self) -> type | None:
        """The section class of a ``[table]`` or ``[[tables]]`` key, else None."""
        return self.base if dataclasses.is_dataclass(self.base) else None

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The words a ``Literal`` or enum key takes, in their declared order."""
        if typing.get_origin(self.base) is Literal:
            return typing.get_args(self.base)
        if isinstance(self.base, type) and issubclass(self.base, enum.Enum):
            return tuple(member.value for member in self.base)
        return None


@cache
def keys(section: type) -> tuple[Key, ...]:
    """The keys a section declares, in declaration order (fields made without ``key()`` are not keys)."""
    hints = typing.get_type_hints(section)
    found = []
    for f in dataclasses.fields(section):
        if "key" not in f.metadata:
            continue
        base, many, optional = _taken_apart(hints[f.name])
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        found.append(Key(f.name, base, many, optional, default, f.metadata["key"]))
    return tuple(found)


def _taken_apart(hint: Any) -> tuple[Any, bool, bool]:
    """``tuple[X, ...] | None`` -> (X, many, optional)."""
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        optional, hint = True, args[0]
    many = typing.get_origin(hint) is tuple
    if many:
        hint = typing.get_args(hint)[0]
    return hint, many, optional
