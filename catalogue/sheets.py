"""Reading spreadsheets people bring: XLSX and CSV as rows of cells, streamed.

Generic on purpose (process imports and run-data imports both read through it): a :class:`Table` has the
header row's texts and yields :class:`SheetRow` s — the row number as the spreadsheet shows it and the raw
cell values, column by column (``column_letter(i)`` names column ``i`` as the spreadsheet does).

- XLSX through openpyxl's read-only mode (rows are parsed as they are read, never the whole sheet at once) with
  the *cached* values of formulas: a formula is never evaluated; one without a stored value is a
  :class:`CellError`, as is an error value such as ``#DIV/0!``. Dates formatted as dates come as dates.
- CSV: UTF-8 with or without byte-order mark, else Windows-1252; `;`, `,` or tab as delimiter; whether
  numbers use a decimal comma or a decimal point is detected from the values (:attr:`Table.decimal`). CSV
  values stay text: :func:`parse_number` and :func:`parse_date` read them the Danish way.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from core.errors import Invalid

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and other Office 97 files)
DELIMITERS = (";", ",", "\t")
SAMPLE_ROWS = 200


class SheetError(Invalid):
    """The file cannot be read as a spreadsheet at all (not one, damaged, empty)."""


@dataclass(frozen=True, slots=True)
class CellError:
    """A cell whose value cannot be used: an Excel error value or a formula without a stored result."""

    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class SheetRow:
    number: int  # as the spreadsheet shows it (the header is usually row 1)
    values: tuple[Any, ...]

    def get(self, index: int) -> Any:
        return self.values[index] if index < len(self.values) else None

    @property
    def is_empty(self) -> bool:
        return all(v is None or (isinstance(v, str) and not v.strip()) for v in self.values)


@dataclass
class Table:
    kind: str  # "xlsx" | "csv"
    sheet: str  # the worksheet's name (CSV: "")
    headers: list[str]  # the header row's texts, stripped ("" for an empty header cell)
    header_row: int
    rows: Iterator[SheetRow]  # the rows under the header, empty ones included; read once
    decimal: str = "."  # CSV: "," when the numbers use a decimal comma
    encoding: str | None = None  # CSV: "utf-8-sig", "utf-8" or "cp1252"
    delimiter: str | None = None  # CSV
    sheets: list[str] = field(default_factory=list)  # XLSX: every worksheet's name


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    return get_column_letter(index + 1)


# ---------------------------------------------------------------- opening


@contextmanager
def open_table(data: bytes, *, sheet: str | Sequence[str] | None = None) -> Iterator[Table]:
    """The first non-empty row is the header. `sheet`: a worksheet name, or names to prefer in order
    (the first that exists); otherwise the first worksheet."""
    if data.startswith(XLSX_MAGIC):
        with _open_xlsx(data, sheet) as table:
            yield table
    elif data.startswith(OLE_MAGIC):
        raise SheetError("This is an old Excel file (.xls) or another Office 97 file; save it as .xlsx or .csv.")
    else:
        yield _open_csv(data)


def _pick(names: list[str], wanted: str | Sequence[str] | None) -> str:
    if wanted is None:
        return names[0]
    candidates = [wanted] if isinstance(wanted, str) else list(wanted)
    folded = {n.casefold(): n for n in names}
    for candidate in candidates:
        if candidate.casefold() in folded:
            return folded[candidate.casefold()]
    if isinstance(wanted, str):
        raise SheetError(f"The workbook has no sheet {wanted!r}; it has {', '.join(names)}.")
    return names[0]


def _has_formulas(archive: zipfile.ZipFile) -> bool:
    for name in archive.namelist():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            with archive.open(name) as f:
                while chunk := f.read(1 << 20):
                    if b"<f>" in chunk or b"<f " in chunk or b":f>" in chunk or b":f " in chunk:
                        return True
    return False


@contextmanager
def _open_xlsx(data: bytes, wanted: str | Sequence[str] | None) -> Iterator[Table]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            formulas = _has_formulas(archive)
        values = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise SheetError(f"The file looks like an Excel workbook but cannot be read ({exc}).") from None
    # Only when the workbook has formulas: read it a second time alongside, to tell a formula without a stored
    # value from an empty cell (openpyxl gives None for both when reading cached values).
    formulas_wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False) if formulas else None
    try:
        names = list(values.sheetnames)
        if not names:
            raise SheetError("The workbook has no sheets.")
        name = _pick(names, wanted)
        rows = _xlsx_rows(values[name], formulas_wb[name] if formulas_wb else None)
        header_row, headers = _header(rows)
        yield Table(kind="xlsx", sheet=name, headers=headers, header_row=header_row, rows=rows, sheets=names)
    finally:
        values.close()
        if formulas_wb is not None:
            formulas_wb.close()


def _cell_value(cell: Any, formula: Any) -> Any:
    value = cell.value
    if getattr(cell, "data_type", None) == "e":
        return CellError(f"the cell holds the error {value}")
    if value is None and formula is not None and getattr(formula, "data_type", None) == "f":
        return CellError("the cell is a formula without a stored value; open and save the file in Excel first")
    return value


def _xlsx_rows(ws: Any, formulas_ws: Any) -> Iterator[SheetRow]:
    formula_rows = formulas_ws.iter_rows() if formulas_ws is not None else None
    for number, cells in enumerate(ws.iter_rows(), start=1):
        frow = next(formula_rows, ()) if formula_rows is not None else ()
        values = tuple(_cell_value(c, frow[i] if i < len(frow) else None) for i, c in enumerate(cells))
        yield SheetRow(number, values)


def _header(rows: Iterator[SheetRow]) -> tuple[int, list[str]]:
    for row in rows:
        if not row.is_empty:
            headers = [_text(v) for v in row.values]
            while headers and not headers[-1]:
                headers.pop()
            return row.number, headers
    raise SheetError("The sheet is empty: it has no header row and no rows.")


def _text(value: Any) -> str:
    if value is None or isinstance(value, CellError):
        return ""
    return " ".join(str(value).split())


# ---------------------------------------------------------------- CSV


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _delimiter(first_line: str) -> str:
    counts = {d: _outside_quotes(first_line).count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _outside_quotes(line: str) -> str:
    return re.sub(r'"[^"]*"', "", line)


COMMA_DECIMAL = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
POINT_DECIMAL = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)\.\d+$")


def _decimal_mark(sample: list[list[str]]) -> str:
    comma = point = 0
    for row in sample:
        for value in row:
            v = value.strip()
            if COMMA_DECIMAL.match(v):
                comma += 1
            elif POINT_DECIMAL.match(v):
                point += 1
    return "," if comma > point else "."


def _open_csv(data: bytes) -> Table:
    if b"\x00" in data[:4096]:
        raise SheetError("The file is neither an Excel workbook (.xlsx) nor a CSV text file.")
    text, encoding = _decode(data)
    if not text.strip():
        raise SheetError("The file is empty: it has no header row and no rows.")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = _delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    sample: list[list[str]] = []
    for row in reader:
        sample.append(row)
        if len(sample) > SAMPLE_ROWS:
            break
    decimal = _decimal_mark(sample[1:])

    def rows() -> Iterator[SheetRow]:
        # csv counts physical lines; a quoted cell may span lines, so the row number is the record's first line
        again = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        number = 1
        for record in again:
            yield SheetRow(number, tuple(v if v.strip() else None for v in record))
            number = again.line_num + 1

    iterator = rows()
    try:
        header_row, headers = _header(iterator)
    except csv.Error as exc:
        raise SheetError(f"The CSV file cannot be read ({exc}).") from None
    return Table(
        kind="csv",
        sheet="",
        headers=headers,
        header_row=header_row,
        rows=_guarded(iterator),
        decimal=decimal,
        encoding=encoding,
        delimiter=delimiter,
    )


def _guarded(rows: Iterator[SheetRow]) -> Iterator[SheetRow]:
    try:
        yield from rows
    except csv.Error as exc:
        raise SheetError(f"The CSV file cannot be read ({exc}).") from None


# ---------------------------------------------------------------- values, the Danish way

DANISH_DATE = re.compile(r"^(\d{1,2})[.\-/](\d{1,2})[.\-/](\d{4})$")
TRUE_WORDS = {"ja", "j", "yes", "y", "true", "sand", "1", "x"}
FALSE_WORDS = {"nej", "n", "no", "false", "falsk", "0"}


def parse_number(value: Any, decimal: str = ".") -> Decimal:
    """A cell as a number: numbers as they are; text with the file's decimal mark (thousands marks allowed).

    Raises ValueError with a message for people."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not {value!r}")
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if decimal == ",":
        if text.count(",") > 1:
            raise ValueError(f"expected a number, not {value!r}")
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"expected a number, not {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected a number, not {value!r}")
    return number


def parse_date(value: Any) -> dt.date:
    """An Excel date, or text as dd.mm.yyyy (also dd-mm-yyyy, dd/mm/yyyy) or yyyy-mm-dd."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    match = DANISH_DATE.match(text)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return dt.date(year, month, day)
        return dt.date.fromisoformat(text[:10]) if re.match(r"^\d{4}-\d{2}-\d{2}", text) else _no_date(value)
    except ValueError:
        raise ValueError(f"expected a date (dd.mm.yyyy), not {value!r}") from None


def _no_date(value: Any) -> dt.date:
    raise ValueError(f"expected a date (dd.mm.yyyy), not {value!r}")


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"expected Ja or Nej, not {value!r}")
