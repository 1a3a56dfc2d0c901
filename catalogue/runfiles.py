"""Run files as orchestrators produce them: each format recognised by its columns, read row by row.

| format | recognised by (columns, case, spaces and `_` ignored) | one row is |
|---|---|---|
| `generic` | `id`, `ended_at`, `outcome` (+ `units`, `key`) | a run or item, as `POST …/runs` takes it |
| `power-automate` | `flowrunid`, or `workflowid` + `endtime` + `status` | a cloud flow run (Dataverse `flowrun`) |
| `uipath-queue-items` | `QueueDefinitionId` + `EndProcessing` (API); `Status` + `Ended` + `Exception` (CSV) | an item |
| `uipath-jobs` | `State` + `EndTime` + `ReleaseName` (API); `State` + `Ended` + `Process` (CSV) | a job |
| `openorchestrator` | `status` + `end_date` + `queue_name` or `reference` | a queue element |

CSV is read as a stream (`;`, `,` or tab; UTF-8 with or without BOM, else Windows-1252), so a file of a million
rows needs no more memory than one batch. JSON (an OData answer `{"value": [...]}` or a plain list) is read whole.
A time without a zone is Danish time (Europe/Copenhagen); runs that have not ended (queued, running) are ignored.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

DANISH = ZoneInfo("Europe/Copenhagen")
Outcome = Literal["success", "failure", "business_exception"]
OUTCOMES: tuple[str, ...] = ("success", "failure", "business_exception")
MAX_UNITS = 10_000
MAX_ID = 200


@dataclass(slots=True)
class ParsedRun:
    row: int
    run_id: str
    ended_at: dt.datetime  # aware
    outcome: Outcome
    units: int
    keys: tuple[str, ...]  # candidate names of the adoption (flow, queue, process), most specific first


@dataclass(slots=True)
class CellError:
    column: str | None
    field: str
    message: str


@dataclass(slots=True)
class RowProblem:
    row: int
    action: Literal["error", "ignore"]
    id: str | None
    errors: list[CellError] = field(default_factory=list)


RowResult = ParsedRun | RowProblem


class RunFileError(ValueError):
    """The file as a whole cannot be read (not CSV or JSON, no known columns)."""


def month_of(moment: dt.datetime) -> str:
    """The calendar month in Danish time (`2024-05`) of an aware moment."""
    local = moment.astimezone(DANISH)
    return f"{local.year:04d}-{local.month:02d}"


def norm(header: str) -> str:
    return re.sub(r"[\s_]+", "", header.strip().lower())


_DANISH_TIME = re.compile(r"^(\d{1,2})[.-](\d{1,2})[.-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_US_TIME = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))? ?([AP]M)$", re.IGNORECASE)


def parse_time(text: str) -> dt.datetime:
    """ISO 8601 (with `Z`, an offset, or none), `dd-mm-yyyy HH:MM[:SS]`, `dd.mm.yyyy …` or `m/d/yyyy h:mm:ss AM`.
    Without a zone the time is Danish. Raises ValueError with a message for a person."""
    text = text.strip()
    moment: dt.datetime | None = None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        if m := _DANISH_TIME.match(text):
            day, month, year, hour, minute, second = m.groups()
            moment = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        elif m := _US_TIME.match(text):
            month, day, year, hour, minute, second, half = m.groups()
            h = int(hour) % 12 + (12 if half.upper() == "PM" else 0)
            moment = dt.datetime(int(year), int(month), int(day), h, int(minute), int(second or 0))
    if moment is None:
        raise ValueError(f"{text!r} is not a time; write e.g. 2024-05-03T10:15:00+02:00")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=DANISH)
    return moment


# ---------------------------------------------------------------- formats


@dataclass(frozen=True)
class Format:
    name: str
    kind: Literal["run", "item"] | None  # what one row is; None: the file says (generic)
    id_columns: tuple[str, ...]
    ended_columns: tuple[str, ...]
    key_columns: tuple[str, ...]
    derived_id: tuple[str, ...] = ()  # no id column: the id is a digest of these columns

    def outcome(self, row: dict[str, str]) -> Outcome | None | str:
        """The outcome; None for a run that has not ended; a str message for a value not understood."""
        return _OUTCOME_RULES[self.name](row)


def _generic(row: dict[str, str]) -> Outcome | None | str:
    value = row.get("outcome", "").strip().lower().replace("-", "_").replace(" ", "_")
    if value in OUTCOMES:
        return value
    return f"outcome: {row.get('outcome', '')!r} is not success, failure or business_exception"


@dataclass(frozen=True)
class Statuses:
    """How a format tells a run's outcome: the column, and which of its values mean what (compared with case,
    spaces and `_` ignored). A failure is a business exception when one of `business` starts with "business"."""

    column: str
    what: str
    success: frozenset[str]
    failure: frozenset[str]
    open: frozenset[str]  # not ended (or never done): ignored
    business: tuple[str, ...] = ()

    def outcome(self, row: dict[str, str]) -> Outcome | None | str:
        value = norm(row.get(self.column, ""))
        if value in self.success:
            return "success"
        if value in self.failure:
            exception = next((norm(row[c]) for c in self.business if row.get(c)), "")
            return "business_exception" if exception.startswith("business") else "failure"
        if value in self.open or not value:
            return None
        return f"{self.column}: {row.get(self.column)!r} is not {self.what}"


def _statuses(column: str, what: str, success: str, failure: str, open_: str, *business: str) -> Statuses:
    return Statuses(
        column, what, frozenset(success.split()), frozenset(failure.split()), frozenset(open_.split()), business
    )


_OUTCOME_RULES = {
    "generic": _generic,
    # Power Automate flow run status (the Dataverse flowrun table, mirroring the Logic Apps run status):
    # Succeeded, Failed, Cancelled, Running, Waiting, …
    "power-automate": _statuses(
        "status",
        "a flow run status",
        "succeeded",
        "failed cancelled canceled timedout aborted faulted",
        "running waiting suspended skipped paused notspecified ignored",
    ).outcome,
    # UiPath queue item Status: New, InProgress, Failed, Successful, Abandoned, Retried, Deleted; a failed item's
    # ProcessingExceptionType (API) or Exception column (export) tells a business exception from an application
    # one. A retried item is counted through its retry; a deleted one was never done.
    "uipath-queue-items": _statuses(
        "status",
        "a queue item status",
        "successful",
        "failed abandoned",
        "new inprogress retried deleted",
        "processingexceptiontype",
        "exception",
    ).outcome,
    # UiPath job State: Pending, Running, Stopping, Terminating, Faulted, Successful, Stopped, Suspended, Resumed.
    "uipath-jobs": _statuses(
        "state",
        "a job state",
        "successful",
        "faulted stopped",
        "pending running stopping terminating suspended resumed",
    ).outcome,
    # OpenOrchestrator's QueueStatus: NEW 'New', IN_PROGRESS 'In Progress', DONE 'Done', FAILED 'Failed',
    # ABANDONED 'Abandoned' (its table stores the name, its own screens the value).
    "openorchestrator": _statuses(
        "status", "a queue element status", "done", "failed abandoned", "new inprogress"
    ).outcome,
}

GENERIC = Format("generic", None, ("id",), ("endedat",), ("key",))
POWER_AUTOMATE = Format(
    "power-automate",
    "run",
    ("flowrunid", "name"),
    ("endtime",),
    ("workflowvalue@odata.community.display.v1.formattedvalue", "workflowname", "workflow", "workflowid"),
)
UIPATH_ITEMS_API = Format(
    "uipath-queue-items", "item", ("key", "id"), ("endprocessing",), ("queuedefinitionname", "queuedefinitionid")
)
UIPATH_ITEMS_CSV = Format("uipath-queue-items", "item", ("key", "id", "reference"), ("ended",), ("queue", "queuename"))
UIPATH_JOBS_API = Format("uipath-jobs", "run", ("key", "id"), ("endtime",), ("releasename", "processname"))
UIPATH_JOBS_CSV = Format(
    "uipath-jobs",
    "run",
    ("key", "id"),
    ("ended", "endtime"),
    ("process", "processname"),
    derived_id=("process", "robot", "hostname", "started", "ended", "endtime"),
)
OPENORCHESTRATOR = Format("openorchestrator", "item", ("id",), ("enddate",), ("queuename",))


def detect(headers: set[str]) -> Format:
    """The format of a file from its (normalised) column names."""
    h = headers
    if {"id", "endedat", "outcome"} <= h:
        return GENERIC
    if "flowrunid" in h or {"workflowid", "endtime", "status"} <= h:
        return POWER_AUTOMATE
    if {"queuedefinitionid", "endprocessing"} <= h:
        return UIPATH_ITEMS_API
    if {"state", "endtime"} <= h and h & {"releasename", "processname"}:
        return UIPATH_JOBS_API
    if {"status", "enddate"} <= h and h & {"queuename", "reference"}:
        return OPENORCHESTRATOR
    if {"status", "ended", "exception"} <= h:
        return UIPATH_ITEMS_CSV
    if {"state", "process"} <= h and h & {"ended", "endtime"}:
        return UIPATH_JOBS_CSV
    raise RunFileError(
        "The columns are not those of a known run file (generic: id; ended_at; outcome; units; key — or an export "
        "of Power Automate flow runs, UiPath queue items or jobs, or OpenOrchestrator queue elements). "
        f"Columns found: {', '.join(sorted(headers)) or 'none'}."
    )


def _first(row: dict[str, str], columns: tuple[str, ...]) -> tuple[str | None, str]:
    for column in columns:
        value = row.get(column)
        if value is not None and str(value).strip():
            return column, str(value).strip()
    return None, ""


def parse_row(fmt: Format, number: int, row: dict[str, str], default_key: str | None) -> RowResult:
    """One row (its columns normalised) as a run, or the problem with it."""
    id_column, run_id = _first(row, fmt.id_columns)
    if not run_id and fmt.derived_id:
        parts = [row.get(c, "").strip() for c in fmt.derived_id]
        if any(parts):
            run_id = "sha1:" + hashlib.sha1("\x1f".join(parts).encode()).hexdigest()
    errors: list[CellError] = []
    if not run_id:
        errors.append(CellError(fmt.id_columns[0], "id", "id: the run has no id"))
    elif len(run_id) > MAX_ID:
        errors.append(CellError(id_column, "id", f"id: at most {MAX_ID} characters"))
    outcome = fmt.outcome(row)
    if outcome is None:
        return RowProblem(number, "ignore", run_id or None, [CellError(None, "outcome", "not ended yet: ignored")])
    if isinstance(outcome, str) and outcome not in OUTCOMES:
        errors.append(CellError(None, "outcome", outcome))
    ended_column, ended_text = _first(row, fmt.ended_columns)
    ended: dt.datetime | None = None
    if not ended_text:
        errors.append(CellError(fmt.ended_columns[0], "ended_at", "ended_at: the run has no end time"))
    else:
        try:
            ended = parse_time(ended_text)
        except ValueError as exc:
            errors.append(CellError(ended_column, "ended_at", f"ended_at: {exc}"))
    units = 1
    if fmt is GENERIC and row.get("units", "").strip():
        text = row["units"].strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_UNITS:
            errors.append(CellError("units", "units", f"units: {text!r} is not a whole number from 1 to {MAX_UNITS}"))
        else:
            units = int(text)
    if errors or ended is None:
        return RowProblem(number, "error", run_id or None, errors)
    keys = tuple(row[c].strip() for c in fmt.key_columns if row.get(c) and str(row[c]).strip())
    if default_key:
        keys += (default_key,)
    return ParsedRun(number, run_id, ended, outcome, units, keys)  # type: ignore[arg-type]


# ---------------------------------------------------------------- reading


@dataclass
class RunFile:
    format: Format
    rows: Iterator[RowResult]


def _flatten(item: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in item.items():
        name = prefix + norm(str(key))
        if isinstance(value, dict):
            out.update(_flatten(value, name))
        elif value is not None:
            out[name] = value if isinstance(value, str) else json.dumps(value)
    return out


def _decoded(binary: IO[bytes]) -> IO[str]:
    head = binary.read(65536)
    binary.seek(0)
    encoding = "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        encoding = "cp1252"
    return io.TextIOWrapper(binary, encoding=encoding, newline="")


def open_run_file(binary: IO[bytes], default_key: str | None = None) -> RunFile:
    """Recognise the file and return its format and a lazy iterator of its rows (row numbers as a person
    sees them: the header is row 1; in JSON the first element is row 1)."""
    text = _decoded(binary)
    first = text.read(1)
    while first.isspace():
        first = text.read(1)
    text.seek(0)
    if first in ("{", "["):
        return _json_file(text, default_key)
    if not first:
        raise RunFileError("The file is empty.")
    return _csv_file(text, default_key)


def _json_file(text: IO[str], default_key: str | None) -> RunFile:
    try:
        document = json.load(text)
    except json.JSONDecodeError as exc:
        raise RunFileError(f"The file is not valid JSON: {exc}") from None
    items = document.get("value") if isinstance(document, dict) else document
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise RunFileError('JSON must be a list of runs or an OData answer {"value": [...]}.')
    rows = [_flatten(i) for i in items]
    fmt = detect(set().union(*rows) if rows else set())
    return RunFile(fmt, (parse_row(fmt, n, r, default_key) for n, r in enumerate(rows, start=1)))


def _csv_file(text: IO[str], default_key: str | None) -> RunFile:
    header_line = text.readline()
    delimiter = max((";", ",", "\t"), key=header_line.count)
    header = next(csv.reader([header_line], delimiter=delimiter))
    names = [norm(h) for h in header]
    fmt = detect(set(names))

    def rows() -> Iterator[RowResult]:
        for number, values in enumerate(csv.reader(text, delimiter=delimiter), start=2):
            if not any(v.strip() for v in values):
                continue
            yield parse_row(fmt, number, dict(zip(names, values, strict=False)), default_key)

    return RunFile(fmt, rows())
