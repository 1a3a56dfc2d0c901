"""The one form machinery of the pages: each field declared once (Danish label, help text, kind, limits), the
posted form read into the API's values with every problem found at once, in Danish, next to its field, and the
typed values kept for the form shown again.

Danish numbers are read as a person writes them: `1.200` (thousands), `5,5` (decimal comma), `75 %`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import msgspec

from core.errors import DomainError
from service.pages.common import FormErrors

T = TypeVar("T")
Kind = Literal["text", "int", "decimal", "percent", "bool", "choice", "date", "email", "terms"]
TERM_BOXES = 3  # empty boxes a vocabulary field offers besides its terms
_GROUPED = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")  # 1.200 · 12.345.678: dots group thousands
_TEXT_OK = re.compile(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")


@dataclass(frozen=True)
class Field:
    """One form field. `name` is the API's field name (and the form's), `label` and `help` are Danish."""

    name: str
    label: str
    kind: Kind = "text"
    help: str = ""
    required: bool = False
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: Mapping[str, str] | None = None  # value → Danish label
    pattern: str | None = None
    pattern_message: str = ""
    example: str = ""
    empty: str = "– ikke valgt –"  # a choice that is not required: the label of choosing none

    @property
    def id(self) -> str:
        return f"f-{self.name}"


def danish_number(text: str) -> float | None:
    """ "1.200" → 1200, "5,5" → 5.5, "1.234,5" → 1234.5, "75 %" → 75, "4.5" → 4.5; None when not a number."""
    cleaned = text.replace("\xa0", "").replace(" ", "").removesuffix("%")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".") if cleaned.count(",") == 1 else "x"
    elif _GROUPED.match(cleaned):
        cleaned = cleaned.replace(".", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def show_number(value: float | int | None) -> str:
    """A number as the form shows it again: 1200 → "1.200", 5.5 → "5,5", None → ""."""
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,}".replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _limit_text(f: Field, value: float) -> str:
    return show_number(value) + (" %" if f.kind == "percent" else "")


def _parse_number(f: Field, raw: str) -> tuple[float | int | None, str | None]:
    value = danish_number(raw)
    example = f.example or ("1.200" if f.kind == "int" else "75 %" if f.kind == "percent" else "5,5")
    if value is None:
        kind = "et helt tal" if f.kind == "int" else "et tal"
        return None, f"{f.label} skal være {kind}, fx {example}."
    if f.kind == "int" and not value.is_integer():
        return None, f"{f.label} skal være et helt tal, fx {example}."
    if f.minimum is not None and value < f.minimum:
        if f.minimum == 0:
            return None, f"{f.label} kan ikke være negativ."
        return None, f"{f.label} skal være mindst {_limit_text(f, f.minimum)}."
    if f.maximum is not None and value > f.maximum:
        return None, f"{f.label} må højst være {_limit_text(f, f.maximum)}."
    return (int(value) if f.kind == "int" else value), None


def parse_field(f: Field, form: Mapping[str, str]) -> tuple[Any, str | None]:
    """One field's value for the API (None when empty) and its Danish error, if any."""
    if f.kind == "bool":
        return form.get(f.name) in ("on", "true", "1", "ja"), None
    if f.kind == "terms":
        return term_values(form, f.name), None
    raw = typed(form, f.name).strip()
    if not raw:
        return None, (f"Udfyld {f.label.lower()}." if f.required else None)
    if f.kind in ("int", "decimal", "percent"):
        return _parse_number(f, raw)
    if f.kind == "choice":
        if f.choices is not None and raw not in f.choices:
            return None, f"Vælg {f.label.lower()} på listen."
        return raw, None
    if f.kind == "date":
        try:
            return dt.date.fromisoformat(raw).isoformat(), None
        except ValueError:
            return None, f"{f.label} skal være en dato, fx 2024-05-31."
    if f.kind == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", raw):
        return None, f"{f.label} skal være en e-mailadresse, fx navn@kommune.dk."
    if not _TEXT_OK.match(raw):
        return None, f"{f.label} må ikke indeholde kontroltegn."
    if f.max_length is not None and len(raw) > f.max_length:
        return None, f"{f.label} må højst have {show_number(f.max_length)} tegn (der er {show_number(len(raw))})."
    if f.pattern and not re.fullmatch(f.pattern, raw):
        return None, f.pattern_message or f"{f.label} har ikke den rigtige form."
    return raw, None


def typed(form: Mapping[str, str], name: str) -> str:
    """A field's text as typed; browsers send a textarea's line breaks as CRLF, the catalogue keeps LF."""
    return (form.get(name) or "").replace("\r\n", "\n")


def term_values(form: Mapping[str, str], name: str) -> list[str]:
    """A vocabulary field's terms: the boxes `<name>_0`, `<name>_1`, … (and a plain `<name>` split at commas)."""
    boxes = sorted(
        ((int(k.rsplit("_", 1)[1]), v) for k, v in form.items() if re.fullmatch(rf"{re.escape(name)}_\d{{1,3}}", k)),
    )
    values = [v for _, v in boxes] + (form.get(name) or "").split(",")
    seen: dict[str, str] = {}
    for value in values:
        term = " ".join(value.split())
        if term:
            seen.setdefault(term.casefold(), term[:100])
    return list(seen.values())


def parse_form(form: Mapping[str, str], fields: Iterable[Field]) -> dict[str, Any]:
    """Every field's value for the API; raises FormErrors with every field's problem at once."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        value, error = parse_field(f, form)
        if error:
            errors[f.name] = error
        else:
            values[f.name] = value
    if errors:
        raise FormErrors(errors)
    return values


def form_values(values: Mapping[str, Any], fields: Iterable[Field]) -> dict[str, Any]:
    """API values (a read struct's fields) as the form shows them: Danish numbers, terms as lists."""
    shown: dict[str, Any] = {}
    for f in fields:
        value = values.get(f.name)
        if f.kind in ("int", "decimal", "percent"):
            shown[f.name] = show_number(value)
        elif f.kind == "bool":
            shown[f.name] = "on" if value else ""
        elif f.kind == "terms":
            shown[f.name] = list(value or [])
        else:
            shown[f.name] = "" if value is None else str(value)
    return shown


def posted_values(form: Mapping[str, str], fields: Iterable[Field]) -> dict[str, Any]:
    """What was posted, kept as typed, for the form shown again with its errors."""
    return {f.name: term_values(form, f.name) if f.kind == "terms" else typed(form, f.name) for f in fields}


def to_struct(values: dict[str, Any], struct: type[T], fields: Iterable[Field]) -> T:
    """The parsed values as the API's input struct; a refusal the fields did not foresee is still Danish."""
    try:
        return msgspec.convert(values, struct)
    except msgspec.ValidationError as exc:
        match = re.search(r"at `\$\.([a-z_]+)", str(exc))
        raise domain_errors(DomainError(str(exc), field=match.group(1) if match else None), fields) from None


def domain_errors(exc: DomainError, fields: Iterable[Field], messages: Mapping[str, str] | None = None) -> FormErrors:
    """The domain's refusal (its text is English, for the API) in Danish next to the field it names:
    `messages` gives a field's Danish sentence; otherwise the field's label says it was refused."""
    labels = {f.name: f.label for f in fields}
    field = (exc.field or "").split(".")[0]
    if messages and field in messages:
        return FormErrors({field: messages[field]})
    if field in labels:
        return FormErrors({field: f"{labels[field]}: værdien blev afvist. Ret den og prøv igen."})
    return FormErrors({"": "Ændringen blev afvist. Ret felterne og prøv igen."})
