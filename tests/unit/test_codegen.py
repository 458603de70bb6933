"""Generated per-row functions build exactly what the generic code would."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from thecloud.adapters.sql.codegen import entity_loader, row_converter
from thecloud.domain.secrets import Secret

NOW = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_row_converter_converts_only_the_columns_that_have_a_converter() -> None:
    convert = row_converter([None, str.upper, None, int])
    assert convert is not None
    assert convert([("a", "b", "c", "7"), ("d", "e", "f", "8")]) == [
        ("a", "B", "c", 7),
        ("d", "E", "f", 8),
    ]
    assert row_converter([None, None]) is None


def test_slot_loader_builds_an_equal_frozen_entity_and_ignores_trailing_columns() -> None:
    row = ("id", "t", "name", "", b"\x00ct", b"nonce", "u", NOW, NOW, None, 3)
    loaded = entity_loader(Secret)((*row, 42))  # a page row ends with the total
    assert loaded == Secret(*row)
    assert type(loaded) is Secret and hash(loaded) == hash(Secret(*row))
    with pytest.raises(AttributeError):
        loaded.name = "changed"  # type: ignore[misc]
    assert replace(loaded, version=4).version == 4


@dataclass(frozen=True, slots=True)
class Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


@dataclass(frozen=True)
class Plain:
    value: int


def test_entities_with_checks_or_without_slots_are_built_by_their_class() -> None:
    with pytest.raises(ValueError, match="negative"):
        entity_loader(Checked)((-1,))
    assert entity_loader(Plain)((5,)) == Plain(5)
