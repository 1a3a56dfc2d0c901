"""Read schemas built from rows: the fields a row holds under the same name are copied, the rest given."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

import msgspec

ReadT = TypeVar("ReadT", bound=msgspec.Struct)


def read_from(read_type: type[ReadT], row: object, /, **values: Any) -> ReadT:
    """`read_type` with `values`, and each of its other fields taken from the attribute of `row` of that name.

    Only what a row holds as the API shows it is copied: a Decimal column (shown as a float), a derived value or a
    field of another name goes in `values`. A field `row` lacks raises AttributeError, a value for a field
    `read_type` lacks TypeError, so a renamed column or field fails loudly instead of going missing; so does a
    Decimal copied as it is (the JSON would show it as a string)."""
    for name in read_type.__struct_fields__:
        if name not in values:
            value = values[name] = getattr(row, name)
            if isinstance(value, Decimal):
                raise TypeError(f"{read_type.__name__}.{name}: give the Decimal column as a float")
    return read_type(**values)
