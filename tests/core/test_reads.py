"""core.reads: a read schema takes the row's fields of the same name; a missing field or a Decimal fails loudly."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import msgspec
import pytest

from core.reads import read_from


class ThingRead(msgspec.Struct, kw_only=True):
    id: int
    name: str
    cost: float | None
    label: str


def test_fields_of_the_same_name_are_copied_and_the_rest_given() -> None:
    row = SimpleNamespace(id=7, name="Bot", cost=Decimal("1.50"), secret="never shown")
    read = read_from(ThingRead, row, cost=float(row.cost), label="Bot (7)")
    assert read == ThingRead(id=7, name="Bot", cost=1.5, label="Bot (7)")
    assert msgspec.json.decode(msgspec.json.encode(read)) == {"id": 7, "name": "Bot", "cost": 1.5, "label": "Bot (7)"}


def test_a_given_value_wins_over_the_row() -> None:
    row = SimpleNamespace(id=7, name="internal name", cost=None)
    assert read_from(ThingRead, row, name="Shown", label="x").name == "Shown"


def test_a_field_the_row_lacks_fails_instead_of_going_missing() -> None:
    with pytest.raises(AttributeError, match="label"):
        read_from(ThingRead, SimpleNamespace(id=1, name="a", cost=None))


def test_a_value_for_no_field_fails() -> None:
    with pytest.raises(TypeError, match="colour"):
        read_from(ThingRead, SimpleNamespace(id=1, name="a", cost=None), label="x", colour="red")


def test_a_decimal_column_must_be_given_as_a_float() -> None:
    # msgspec writes a Decimal as a JSON string: copied as it is, "cost" would change type in the API
    with pytest.raises(TypeError, match=r"ThingRead\.cost"):
        read_from(ThingRead, SimpleNamespace(id=1, name="a", cost=Decimal("2.00")), label="x")
