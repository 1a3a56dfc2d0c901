"""The generic spreadsheet reader: XLSX (read-only, cached values) and Danish CSV."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from catalogue.sheets import CellError, SheetError, column_letter, open_table, parse_bool, parse_date, parse_number


def xlsx(rows: list[list[object]], title: str = "Ark1", extra: dict[str, list[list[object]]] | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for row in rows:
        ws.append(row)
    for name, more in (extra or {}).items():
        other = wb.create_sheet(name)
        for row in more:
            other.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def with_cached_value(data: bytes, cell: str, value: str) -> bytes:
    """Give the formula in `cell` a stored result, as Excel does when it saves (openpyxl writes none)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                text = re.sub(rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)(<v>\s*</v>|<v/>)?', rf"\1\2<v>{value}</v>", text)
                content = text.encode()
            dst.writestr(item, content)
    return out.getvalue()


def read_all(data: bytes, **kw: object) -> tuple[list[str], list[tuple[int, tuple[object, ...]]]]:
    with open_table(data, **kw) as table:  # type: ignore[arg-type]
        return table.headers, [(r.number, r.values) for r in table.rows]


def test_xlsx_rows_keep_their_numbers_and_types() -> None:
    data = xlsx([["Titel", "Antal", "Dato"], ["A", 3, dt.date(2024, 5, 1)], [], ["B", 2.5, None]])
    headers, rows = read_all(data)
    assert headers == ["Titel", "Antal", "Dato"]
    assert rows[0] == (2, ("A", 3, dt.datetime(2024, 5, 1)))
    assert rows[2][0] == 4 and rows[2][1][:2] == ("B", 2.5)


def test_xlsx_picks_the_named_sheet_and_falls_back_to_the_first() -> None:
    data = xlsx([["a"], [1]], "Forside", {"Processer": [["Titel"], ["x"]]})
    assert read_all(data, sheet=["Processer"])[0] == ["Titel"]
    assert read_all(data, sheet=["Findes ikke"])[0] == ["a"]
    with pytest.raises(SheetError, match="no sheet 'Nej'"):
        read_all(data, sheet="Nej")


def test_formulas_are_never_evaluated() -> None:
    data = xlsx([["Titel", "Antal"], ["A", "=1+1"], ["B", "=1/0"]])
    _, rows = read_all(data)
    assert isinstance(rows[0][1][1], CellError)  # no stored value: an error, not 2
    cached = with_cached_value(data, "B2", "7")
    _, rows = read_all(cached)
    assert rows[0][1][1] == 7  # the stored value, whatever the formula says


def test_error_values_are_cell_errors() -> None:
    data = xlsx([["Titel", "Antal"], ["A", "x"]])
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<c r="B2"[^>]*>.*?</c>', b'<c r="B2" t="e"><v>#DIV/0!</v></c>', content)
            dst.writestr(item, content)
    _, rows = read_all(out.getvalue())
    assert isinstance(rows[0][1][1], CellError) and "#DIV/0!" in str(rows[0][1][1])


@pytest.mark.parametrize(
    ("raw", "delimiter", "decimal", "encoding"),
    [
        ("Titel;Minutter\r\nÆble;12,5\r\n".encode("utf-8-sig"), ";", ",", "utf-8-sig"),
        ("Titel;Minutter\r\nÆble;1.234,5\r\n".encode(), ";", ",", "utf-8"),
        ("Titel;Minutter\r\nÆble;12,5\r\n".encode("cp1252"), ";", ",", "cp1252"),
        ('Titel,Minutter\r\nÆble,12.5\r\n"Pære, grøn",3.25\r\n'.encode(), ",", ".", "utf-8"),
        ("Titel\tMinutter\nÆble\t12.5\n".encode(), "\t", ".", "utf-8"),
    ],
)
def test_csv_dialects_are_detected(raw: bytes, delimiter: str, decimal: str, encoding: str) -> None:
    with open_table(raw) as table:
        assert (table.delimiter, table.decimal, table.encoding) == (delimiter, decimal, encoding)
        assert table.headers == ["Titel", "Minutter"]
        first = next(table.rows)
        assert first.number == 2 and first.values[0] == "Æble"
        assert parse_number(first.values[1], table.decimal) in (Decimal("12.5"), Decimal("1234.5"))


def test_csv_row_numbers_count_lines_of_quoted_cells() -> None:
    raw = b'Titel,Note\r\nA,"to\r\nlinjer"\r\nB,x\r\n'
    _, rows = read_all(raw)
    assert [n for n, _ in rows] == [2, 4]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"\r\n \r\n", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel"),
        (b"PK\x03\x04garbage", "cannot be read"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "neither"),
    ],
)
def test_what_is_not_a_spreadsheet_is_refused_with_a_reason(raw: bytes, message: str) -> None:
    with pytest.raises(SheetError, match=message):
        read_all(raw)


def test_an_empty_workbook_is_refused() -> None:
    with pytest.raises(SheetError, match="empty"):
        read_all(xlsx([]))


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 61)] == ["A", "Z", "AA", "BJ"]


@pytest.mark.parametrize(
    ("value", "decimal", "expected"),
    [("12,5", ",", "12.5"), ("1.234,50", ",", "1234.50"), ("1,234.5", ".", "1234.5"), (7, ",", "7"), (2.5, ".", "2.5")],
)
def test_parse_number(value: object, decimal: str, expected: str) -> None:
    assert parse_number(value, decimal) == Decimal(expected)


@pytest.mark.parametrize("value", ["tolv", "1,2,3", "NaN", True])
def test_parse_number_refuses(value: object) -> None:
    with pytest.raises(ValueError, match="expected a number"):
        parse_number(value, ",")


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_parse_number_reads_danish_text_back(number: Decimal) -> None:
    text = f"{number:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    assert parse_number(text, ",") == number


def test_dates() -> None:
    assert parse_date("01.05.2024") == dt.date(2024, 5, 1)
    assert parse_date("2024-05-01") == dt.date(2024, 5, 1)
    assert parse_date(dt.datetime(2024, 5, 1, 0, 0)) == dt.date(2024, 5, 1)
    for bad in ("31.02.2024", "maj 2024"):
        with pytest.raises(ValueError, match="dd.mm.yyyy"):
            parse_date(bad)


def test_bools() -> None:
    assert parse_bool("Ja") is True and parse_bool("nej") is False and parse_bool(True) is True
    with pytest.raises(ValueError, match="Ja or Nej"):
        parse_bool("måske")
