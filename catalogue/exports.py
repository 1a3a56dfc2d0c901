"""Spreadsheets and CSV for people: Danish column headers, numbers as numbers, dates as dates.

Built from the same read schemas as the API, so an export shows exactly what the API answers.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Adoption, Municipality, Process
from catalogue.schemas import AdoptionRead, BenefitRead, BenefitRow, BenefitSummary, FiguresRead, ProcessRead
from catalogue.services import adoption_read, visible_adoptions
from catalogue.vocab import VISIBILITIES
from core.actors import Actor
from core.streaming import blocking_iter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NUMBER = "#,##0.00"
INTEGER = "#,##0"
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
BOLD = Font(bold=True)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]
    format: str | None = None
    width: int = 14


def _yes(value: bool | None) -> str:
    return "Ikke oplyst" if value is None else "Ja" if value else "Nej"


def _utc(value: dt.datetime) -> dt.datetime:
    """Spreadsheets know no time zones: UTC without the zone (the header says UTC)."""
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def process_columns(names: dict[str, str]) -> list[Column]:
    return [
        Column("ID", lambda p: p.id, width=40),
        Column("Titel", lambda p: p.title, width=50),
        Column("Resumé", lambda p: p.summary, width=60),
        Column("Område", lambda p: p.domain_label, width=18),
        Column("Fase", lambda p: p.phase_label),
        Column("Status", lambda p: p.status_label),
        Column("KLE", lambda p: p.kle),
        Column("Ejerkommune", lambda p: names.get(p.owner_municipality, p.owner_municipality)),
        Column("Kommunekode", lambda p: p.owner_municipality),
        Column("Systemer", lambda p: ", ".join(p.systems), width=30),
        Column("Teknologier", lambda p: ", ".join(p.technologies), width=20),
        Column("Emneord", lambda p: ", ".join(p.tags), width=30),
        Column("Sager pr. år", lambda p: p.cases_per_year, INTEGER),
        Column("Minutter pr. sag", lambda p: p.minutes_per_case, NUMBER),
        Column("Automatiseringsgrad (%)", lambda p: p.automation_rate, NUMBER),
        Column("Udviklingstimer", lambda p: p.build_hours, NUMBER),
        Column("Forventede timer pr. år", lambda p: p.expected_hours_per_year, NUMBER),
        Column("Antal kommuner", lambda p: p.adoption_count, INTEGER),
        Column("Kommuner", lambda p: ", ".join(names.get(c, c) for c in p.adopted_by), width=30),
        Column("Afledt af", lambda p: p.derived_from, width=30),
        Column("Dublet af", lambda p: p.duplicate_of, width=30),
        Column("Personoplysninger", lambda p: _yes(p.personal_data)),
        Column("DPIA udført", lambda p: _yes(p.dpia_done)),
        Column("Synlighed", lambda p: VISIBILITIES.get(p.visibility, p.visibility)),
        Column("Oprettet (UTC)", lambda p: _utc(p.created_at), DATETIME, 17),
        Column("Ændret (UTC)", lambda p: _utc(p.updated_at), DATETIME, 17),
        Column("Version", lambda p: p.version, INTEGER, 8),
    ]


# Columns several sheets share: who (an adoption, a benefit record or a group of them) and the money.
PROCESS_NAMED = [
    Column("Proces-ID", lambda x: x.process, width=40),
    Column("Proces", lambda x: x.process_title, width=50),
]
MUNICIPALITY_NAMED = [Column("Kommunekode", lambda x: x.municipality), Column("Kommune", lambda x: x.municipality_name)]
REALISED_HOURS = Column("Realiserede timer", lambda x: x.realised_hours, NUMBER)
SAVED = Column("Sparet (kr.)", lambda x: x.dkk_saved, NUMBER)
FTE = Column("Årsværk", lambda x: x.fte, "0.0000")
RUNNING_COST = Column("Driftsomkostninger (kr.)", lambda x: x.running_cost_dkk, NUMBER)
NET = Column("Netto (kr.)", lambda x: x.net_dkk, NUMBER)


ADOPTION_COLUMNS = [
    *PROCESS_NAMED,
    *MUNICIPALITY_NAMED,
    Column("Status", lambda a: a.status_label, width=20),
    Column("Startet", lambda a: a.started_on, DATE, 12),
    Column("I drift fra", lambda a: a.live_on, DATE, 12),
    Column("Robot (repository)", lambda a: a.bot.repo if a.bot else None, width=40),
    Column("Robotversion", lambda a: a.bot.ref if a.bot else None),
    Column("Sager pr. år", lambda a: a.cases_per_year, INTEGER),
    Column("Minutter pr. sag", lambda a: a.minutes_per_case, NUMBER),
    Column("Automatiseringsgrad (%)", lambda a: a.automation_rate, NUMBER),
    Column("Forventede timer pr. år", lambda a: a.expected_hours_per_year, NUMBER),
    Column("Noter", lambda a: a.notes, width=40),
]

MINUTES_FROM = {"record": "Registreringen", "adoption": "Kommunens anvendelse", "process": "Processen"}
PERIOD_KINDS = {"year": "År", "quarter": "Kvartal", "month": "Måned"}

SOURCES = {"manual": "Indtastet", "runs": "Kørsler"}  # where a benefit record came from

RECORD_COLUMNS = [
    *PROCESS_NAMED,
    *MUNICIPALITY_NAMED,
    Column("Periode", lambda r: r.period, width=10),
    Column("Periodetype", lambda r: PERIOD_KINDS.get(r.period_kind, r.period_kind), width=10),
    Column("Fra", lambda r: r.period_start, DATE, 12),
    Column("Til", lambda r: r.period_end, DATE, 12),
    Column("Sager", lambda r: r.cases_handled, INTEGER),
    Column("Sparede minutter pr. sag", lambda r: r.minutes_saved_per_case, NUMBER),
    Column("Minutter fra", lambda r: MINUTES_FROM.get(r.minutes_saved_per_case_from or ""), width=20),
    Column("Baseline (minutter pr. sag)", lambda r: r.baseline_minutes, NUMBER),
    REALISED_HOURS,
    Column("Timepris (kr.)", lambda r: r.hourly_cost_dkk, NUMBER),
    SAVED,
    FTE,
    RUNNING_COST,
    NET,
    Column("Hjemtaget i budget", lambda r: _yes(r.budget_realised)),
    Column("Kilde", lambda r: SOURCES.get(r.source, r.source), width=10),
    Column("Note", lambda r: r.note, width=40),
]

FIGURE_COLUMNS = [
    Column("Forventede timer", lambda f: f.expected_hours, NUMBER),
    REALISED_HOURS,
    Column("Heraf fra kørsler (timer)", lambda f: f.realised_hours_runs, NUMBER),
    Column("Realiseringsgrad (%)", lambda f: f.realisation_pct, NUMBER),
    Column("Forventet (kr.)", lambda f: f.expected_dkk, NUMBER),
    SAVED,
    RUNNING_COST,
    NET,
    Column("Hjemtaget i budget (kr.)", lambda f: f.budget_realised_dkk, NUMBER),
    FTE,
    Column("Anvendelser", lambda f: f.adopters, INTEGER),
    Column("Undgåede udviklingstimer", lambda f: f.avoided_build_hours, NUMBER),
    Column("Registreringer", lambda f: f.records, INTEGER),
]

GROUP_SHEETS: dict[str, tuple[str, list[Column]]] = {
    "process": ("Pr. proces", PROCESS_NAMED),
    "municipality": ("Pr. kommune", MUNICIPALITY_NAMED),
    "year": ("Pr. år", [Column("År", lambda r: r.year, "0", 8)]),
    "month": ("Pr. måned", [Column("Måned", lambda r: r.month, width=10)]),
    "domain": ("Pr. område", [Column("Område", lambda r: r.domain_label, width=20)]),
}


# ---------------------------------------------------------------- writers


BOM = "\ufeff".encode()


def csv_lines(
    columns: Sequence[Column], items: Iterable[Any], *, header: bool = False, dialect: str = "plain"
) -> bytes:
    """Rows of the CSV. `plain` for programs: comma separated, decimal point, ISO dates. `excel` for a Danish
    Excel: semicolon separated, decimal comma (the byte-order mark goes before the header, see processes_csv)."""
    excel = dialect == "excel"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if excel else ",", lineterminator="\r\n")
    if header:
        writer.writerow([c.header for c in columns])
    for item in items:
        writer.writerow([_csv_value(c.value(item), decimal_comma=excel) for c in columns])
    return out.getvalue().encode("utf-8")


async def processes_csv(
    processes: AsyncIterator[list[ProcessRead]], names: dict[str, str], dialect: str = "excel"
) -> AsyncIterator[bytes]:
    """The processes CSV, a chunk of rows at a time (each formatted in a worker thread): the header goes out at
    once and the file is never whole in memory. `excel` (the default) starts with a UTF-8 byte-order mark, so a
    Danish Excel reads the letters æ, ø, å right."""
    columns = process_columns(names)
    yield (BOM if dialect == "excel" else b"") + csv_lines(columns, [], header=True, dialect=dialect)
    async for chunk in processes:
        yield await asyncio.to_thread(csv_lines, columns, chunk, dialect=dialect)


def _csv_value(value: Any, *, decimal_comma: bool = False) -> Any:
    if value is None:
        return ""
    if decimal_comma and isinstance(value, float):
        return repr(value).replace(".", ",")
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return inert(value)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def inert(value: Any) -> Any:
    """A text cell a spreadsheet will not run: one beginning with =, +, -, @ (or tab, carriage return) gets a
    leading apostrophe (OWASP's advice against formula injection); control characters, which XLSX cannot hold
    and older data may have, are dropped. Numbers and dates pass unchanged."""
    if not isinstance(value, str):
        return value
    value = CONTROL.sub("", value)
    return "'" + value if value.startswith(FORMULA_START) else value


def _sheet(ws: Any, columns: Sequence[Column], items: Iterable[Any]) -> None:
    """A sheet of a write-only workbook (`ws`; rows go to disk as they come): bold headers, formats, a filter."""
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = max(column.width, min(len(column.header) + 2, 30))
    ws.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font = BOLD
        header.append(cell)
    ws.append(header)
    rows = 0
    for item in items:
        row: list[Any] = []
        for column in columns:
            value = inert(column.value(item))
            if column.format and value is not None:
                value = WriteOnlyCell(ws, value=value)
                value.number_format = column.format
            row.append(value)
        ws.append(row)
        rows += 1
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{rows + 1}"


def _save(wb: Workbook) -> str:
    """The workbook in a temporary file (its path; the caller removes it)."""
    handle, path = tempfile.mkstemp(prefix="rpabank-export-", suffix=".xlsx")
    os.close(handle)
    try:
        wb.save(path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def write_processes_xlsx(
    processes: Iterable[ProcessRead], adoptions: Iterable[AdoptionRead], names: dict[str, str]
) -> str:
    """Sheet "Processer" (one row per process) and "Anvendelser" (who runs which), written row by row to a
    temporary file (blocking: run it in a worker thread). Returns the file's path."""
    wb = Workbook(write_only=True)
    _sheet(wb.create_sheet("Processer"), process_columns(names), processes)
    _sheet(wb.create_sheet("Anvendelser"), ADOPTION_COLUMNS, adoptions)
    return _save(wb)


async def processes_xlsx(
    processes: AsyncIterator[list[ProcessRead]], adoptions: AsyncIterator[list[AdoptionRead]], names: dict[str, str]
) -> str:
    """The processes workbook built in a worker thread that takes the rows chunk by chunk from the database
    (read on the event loop). Returns the temporary file's path."""
    loop = asyncio.get_running_loop()
    rows, adopters = blocking_iter(processes, loop), blocking_iter(adoptions, loop)
    return await asyncio.to_thread(write_processes_xlsx, rows, adopters, names)


def benefits_xlsx(summaries: dict[str, BenefitSummary], records: Sequence[BenefitRead]) -> str:
    """Sheet "I alt" (totals and the settings used), one sheet per grouping, and "Registreringer", written to a
    temporary file (blocking: run it in a worker thread). Returns the file's path."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("I alt")
    any_summary = next(iter(summaries.values()))
    totals: FiguresRead = any_summary.totals
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 18
    bold = []
    for text in ("Nøgletal", "Værdi"):
        cell = WriteOnlyCell(ws, value=text)
        cell.font = BOLD
        bold.append(cell)
    ws.append(bold)
    for column in FIGURE_COLUMNS:
        value = WriteOnlyCell(ws, value=column.value(totals))
        value.number_format = column.format or "General"
        ws.append([column.header, value])
    ws.append([])
    ws.append(["Timepris, netværkets standard (kr.)", any_summary.settings.hourly_cost_dkk])
    ws.append(["Årsværk (timer)", any_summary.settings.annual_hours])
    ws.append(["Fra periode", any_summary.from_ or ""])
    ws.append(["Til periode", any_summary.to or ""])
    for group_by, summary in summaries.items():
        title, keys = GROUP_SHEETS[group_by]
        rows: list[BenefitRow] = summary.rows
        _sheet(wb.create_sheet(title), [*keys, *FIGURE_COLUMNS], rows)
    _sheet(wb.create_sheet("Registreringer"), RECORD_COLUMNS, records)
    return _save(wb)


# ---------------------------------------------------------------- data


class ExportService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def names(self) -> dict[str, str]:
        return {
            code: name
            for code, name in (await self.session.execute(select(Municipality.code, Municipality.name))).all()
        }

    async def stream_adoptions(
        self, actor: Actor, processes: Any, *, chunk: int = 1000
    ) -> AsyncIterator[list[AdoptionRead]]:
        """The adoptions of `processes` (a Select of process ids, or the ids), by process title and municipality
        name, `chunk` at a time through a server-side cursor."""
        ids = list(processes) if isinstance(processes, (list, tuple)) else processes
        stmt = (
            visible_adoptions(actor)
            .where(Adoption.process_id.in_(ids))
            .order_by(Process.title, Process.id, Municipality.name)
            .execution_options(yield_per=chunk)
        )
        result = await self.session.stream(stmt)
        async for part in result.partitions(chunk):
            yield [adoption_read(a, p, m) for a, p, m in part]
