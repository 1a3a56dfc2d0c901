"""Importing processes, adoptions and benefit records from spreadsheets, with a preview.

1. **Read** (:mod:`catalogue.sheets`): rows of cells, streamed.
2. **Recognise the format** by the headers: RPA-banken's own exports (`rpabank`), OS2autoproces's Excel export
   (`os2autoproces`, processes only) or any sheet with Danish or English headers (`generic`); `mapping` names
   columns explicitly (header or column letter → field, "" to skip one).
3. **Plan** each row: parse and check its cells, find the row's existing process, adoption or record and decide
   `create`, `update` or `unchanged`; rights are checked here too (an editor imports only its own
   municipality's rows). Nothing is written.
4. **Apply** through the same services as the API (history, rights, search indexing), inside a savepoint: with
   any row in error — found while planning, or refused by a service while applying — the savepoint is rolled
   back and nothing is written. A dry run applies too (so the preview knows what the services would refuse,
   and the ids new processes get) and always rolls back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.errors import FileTooLarge
from catalogue.formulas import parse_period, to_float
from catalogue.models import Adoption, BenefitRecord, ExternalRef, Municipality, Process
from catalogue.schemas import (
    AdoptionWrite,
    BenefitWrite,
    CellIssue,
    ImportColumn,
    ImportKind,
    ImportReport,
    ImportRow,
    ImportSummary,
    ProcessCreate,
    ProcessUpdate,
)
from catalogue.services import (
    AdoptionService,
    BenefitService,
    ProcessService,
    process_options,
    process_snapshot,
    visible_processes,
)
from catalogue.sheets import (
    CellError,
    SheetRow,
    Table,
    column_letter,
    open_table,
    parse_bool,
    parse_date,
    parse_number,
)
from catalogue.vocab import ADOPTION_STATUSES, DOMAINS, PHASES, STATUSES, VISIBILITIES, term_key, term_label
from core.actors import Actor
from core.errors import DomainError, Invalid

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
CHUNK = 500
OS2 = "os2autoproces"
KINDS: tuple[ImportKind, ...] = ("processes", "adoptions", "benefits")
# the worksheet each kind is read from, when the workbook has it (RPA-banken's exports), else the first
SHEETS = {"processes": ["Processer"], "adoptions": ["Anvendelser"], "benefits": ["Registreringer"]}

# A registered bot's slug for (repo, ref), checking the version; None for a repository not in the code bank.
BotResolver = Callable[[str, str | None], Awaitable[str | None]]


class ImportRefused(Invalid):
    """The whole file is refused before any row is read (unknown kind, a bad mapping, too many rows)."""


# ---------------------------------------------------------------- cells → values


@dataclass
class Context:
    decimal: str
    municipalities: dict[str, str]  # code, name or alias (case-folded) → code


Parser = Callable[[Any, Context], Any]


def _text(value: Any, _: Context) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _int(value: Any, ctx: Context) -> int:
    number = parse_number(value, ctx.decimal)
    if number != number.to_integral_value():
        raise ValueError(f"expected a whole number, not {value!r}")
    return int(number)


def _number(value: Any, ctx: Context) -> float:
    return float(parse_number(value, ctx.decimal))


def _percent(value: Any, ctx: Context) -> float:
    """A rate as 80, "80 %" or "80,0%"."""
    return float(parse_number(str(value).replace("%", "") if isinstance(value, str) else value, ctx.decimal))


def _bool(value: Any, _: Context) -> bool:
    return parse_bool(value)


UNKNOWN_WORDS = frozenset({"ikke oplyst", "ukendt", "unknown", "?"})


def _maybe_bool(value: Any, _: Context) -> bool | None:
    """Ja/Nej, or not stated ("Ikke oplyst", as the export writes it)."""
    if isinstance(value, str) and value.strip().casefold() in UNKNOWN_WORDS:
        return None
    return parse_bool(value)


def _date(value: Any, _: Context) -> dt.date:
    return parse_date(value)


def _list(value: Any, ctx: Context) -> list[str]:
    return [term_label(p) for p in re.split(r"[,;\n]", _text(value, ctx)) if term_label(p)]


def _lookup(mapping: dict[str, str], refusal: Callable[[str], str]) -> Parser:
    """A parser that maps a text (any case) through `mapping`, else refuses it with `refusal(text)`."""

    def parse(value: Any, ctx: Context) -> str:
        text = _text(value, ctx)
        if text.casefold() in mapping:
            return mapping[text.casefold()]
        raise ValueError(refusal(text))

    return parse


def _choice(vocab: dict[str, str]) -> Parser:
    """A key (`operation`) or its Danish label (`Drift`), any case."""
    lookup = {k.casefold(): k for k in vocab} | {label.casefold(): k for k, label in vocab.items()}
    return _lookup(lookup, lambda text: f"{text!r} is not one of {', '.join(vocab.values())}")


def _municipality(value: Any, ctx: Context) -> str:
    text = _text(value, ctx)
    if re.fullmatch(r"\d{1,3}", text):
        text = text.zfill(3)
    key = text.casefold().removesuffix(" kommune").strip()
    if key in ctx.municipalities:
        return ctx.municipalities[key]
    raise ValueError(f"no municipality {text!r} in the network")


def _period(value: Any, ctx: Context) -> str:
    text = _text(value, ctx)
    parse_period(text)  # Invalid with its own message
    return text


# ---------------------------------------------------------------- the fields of each kind


@dataclass(frozen=True)
class Field:
    name: str
    parse: Parser
    headers: tuple[str, ...]  # Danish and English headers it is known by; the first listed wins a tie


PROCESS_FIELDS = [
    Field("id", _text, ("ID", "id", "Proces-ID")),
    Field("title", _text, ("Titel", "title")),
    Field("summary", _text, ("Resumé", "Resume", "summary", "Kort beskrivelse")),
    Field("description", _text, ("Beskrivelse", "description", "Lang beskrivelse")),
    Field("domain", _choice(DOMAINS), ("Område", "domain", "Fagområde")),
    Field("kle", _text, ("KLE", "KLE-nr", "kle")),
    Field("phase", _choice(PHASES), ("Fase", "phase")),
    Field("status", _choice(STATUSES), ("Status", "status")),
    Field("owner_municipality", _municipality, ("Kommunekode", "owner_municipality", "Ejerkommune", "Ejer")),
    Field("systems", _list, ("Systemer", "systems", "IT-systemer")),
    Field("technologies", _list, ("Teknologier", "technologies")),
    Field("tags", _list, ("Emneord", "tags")),
    Field("cases_per_year", _int, ("Sager pr. år", "Antal sager pr. år", "cases_per_year")),
    Field("minutes_per_case", _number, ("Minutter pr. sag", "Tid pr. sag (minutter)", "minutes_per_case")),
    Field("automation_rate", _percent, ("Automatiseringsgrad (%)", "Automatiseringsgrad", "automation_rate")),
    Field("build_hours", _number, ("Udviklingstimer", "build_hours")),
    Field("personal_data", _maybe_bool, ("Personoplysninger", "personal_data")),
    Field("dpia_done", _bool, ("DPIA udført", "dpia_done")),
    Field("visibility", _choice(VISIBILITIES), ("Synlighed", "visibility")),
    Field("legal_basis", _text, ("Hjemmel", "Lovgrundlag", "legal_basis")),
    Field("contact_name", _text, ("Kontaktperson", "contact_name")),
    Field("contact_email", _text, ("Kontakt e-mail", "E-mail", "contact_email")),
    Field("derived_from", _text, ("Afledt af", "derived_from")),
    Field("duplicate_of", _text, ("Dublet af", "duplicate_of")),
]
WHO_FIELDS = [
    Field("process", _text, ("Proces-ID", "process")),
    Field("municipality", _municipality, ("Kommunekode", "municipality", "Kommune")),
]
ADOPTION_FIELDS = [
    *WHO_FIELDS,
    Field("status", _choice(ADOPTION_STATUSES), ("Status", "status")),
    Field("started_on", _date, ("Startet", "started_on")),
    Field("live_on", _date, ("I drift fra", "live_on")),
    Field("bot_repo", _text, ("Robot (repository)", "Robot", "bot_repo", "bot")),
    Field("bot_ref", _text, ("Robotversion", "bot_ref")),
    Field("cases_per_year", _int, ("Sager pr. år", "Antal sager pr. år", "cases_per_year")),
    Field("minutes_per_case", _number, ("Minutter pr. sag", "minutes_per_case")),
    Field("automation_rate", _percent, ("Automatiseringsgrad (%)", "Automatiseringsgrad", "automation_rate")),
    Field("notes", _text, ("Noter", "notes")),
    Field("contact_name", _text, ("Kontaktperson", "contact_name")),
    Field("contact_email", _text, ("Kontakt e-mail", "E-mail", "contact_email")),
]
MINUTES_FROM_RECORD = {"registreringen", "record"}
BENEFIT_FIELDS = [
    *WHO_FIELDS,
    Field("period", _period, ("Periode", "period")),
    Field("cases_handled", _int, ("Sager", "Antal sager", "cases_handled")),
    Field("minutes_saved_per_case", _number, ("Sparede minutter pr. sag", "minutes_saved_per_case")),
    Field("minutes_from", _text, ("Minutter fra", "minutes_saved_per_case_from")),
    Field("baseline_minutes", _number, ("Baseline (minutter pr. sag)", "baseline_minutes")),
    Field("running_cost_dkk", _number, ("Driftsomkostninger (kr.)", "running_cost_dkk")),
    Field("budget_realised", _bool, ("Hjemtaget i budget", "budget_realised")),
    Field("note", _text, ("Note", "note")),
    Field("quality", _int, ("Kvalitet", "quality")),
    Field("work_environment", _int, ("Arbejdsmiljø", "work_environment")),
    Field("citizen_experience", _int, ("Borgeroplevelse", "citizen_experience")),
    Field("qualitative_note", _text, ("Kvalitativ note", "qualitative_note")),
]
FIELDS = {"processes": PROCESS_FIELDS, "adoptions": ADOPTION_FIELDS, "benefits": BENEFIT_FIELDS}

# Columns of RPA-banken's exports that are figures it computes or names it shows: known, read-only, not imported.
COMPUTED = {
    "processes": (
        "Forventede timer pr. år",
        "Antal kommuner",
        "Kommuner",
        "Oprettet (UTC)",
        "Ændret (UTC)",
        "Version",
        "expected_hours_per_year",
        "adoption_count",
        "adopted_by",
        "created_at",
        "updated_at",
        "version",
    ),
    "adoptions": ("Proces", "Forventede timer pr. år", "process_title", "municipality_name"),
    "benefits": (
        "Proces",
        "Periodetype",
        "Fra",
        "Til",
        "Realiserede timer",
        "Timepris (kr.)",
        "Sparet (kr.)",
        "Årsværk",
        "Netto (kr.)",
        "process_title",
        "municipality_name",
    ),
}
# Headers that say "this is RPA-banken's own export" (with the columns above).
OWN_MARKERS = {
    "processes": ("ID", "Titel", "Resumé", "Kommunekode", "Version"),
    "adoptions": ("Proces-ID", "Kommunekode", "Status", "Robotversion", "Forventede timer pr. år"),
    "benefits": ("Proces-ID", "Kommunekode", "Periode", "Minutter fra", "Realiserede timer"),
}


def normalise_header(text: str) -> str:
    return " ".join(text.replace("*", "").split()).strip(" :").casefold()


# ---------------------------------------------------------------- OS2autoproces

# OS2autoproces's Excel export (os2autoproces-backend, ProcessXlsView.java: 62 columns). Its enumerations' labels
# mapped to ours; what has no place in our model goes into the description under its own heading, or is ignored
# (computed there, internal, or about people) and listed as ignored in the report.
OS2_PHASES = {
    "idé": "idea",
    "foranalyse": "analysis",
    "specifikation": "analysis",
    "udvikling": "development",
    "implementering": "test",
    "drift": "operation",
    "taget ud af drift": "retired",
}
OS2_STATUSES = {
    "afvist": "rejected",
    "mislykket": "rejected",
    "afventer": "on_hold",
    "i gang": "active",
    "ikke vurderet": "active",
    "ikke relevant mere": "rejected",
}
OS2_DOMAINS = {
    "administration": "administration",
    "beskæftigelse": "beskaeftigelse",
    "erhverv": "erhverv",
    "familie": "familie",
    "uddannelse": "uddannelse",
    "demokrati": "administration",
    "miljø": "miljoe",
    "teknik": "teknik",
    "social": "social",
    "sundhed": "sundhed_og_omsorg",
    "bæredygtighed": "miljoe",
    "hr": "hr_og_loen",
    "it": "it",
    "kultur": "kultur",
    "økonomi": "oekonomi",
}
OS2_VISIBILITY = {"personlig": "municipality", "myndighed": "municipality", "offentlig": "network"}
OS2_MARKERS = ("KLE-nr", "Antal gange processen foretages årligt", "Tidsforbrug pr. proces i minutter", "Myndighed")
# OS2 header → our field, for the columns with a direct place in our model
OS2_DIRECT = {
    "ID": "external_id",
    "Titel": "title",
    "Resumé": "summary",
    "Fase": "phase",
    "Status": "status",
    "Kontaktperson": "contact_name",
    "Mail": "contact_email",
    "Synlighed": "visibility",
    "Fagområder": "domain",
    "Myndighed": "owner_municipality",
    "Lovparagraf": "legal_basis",
    "KLE-nr": "kle",
    "Beskrivelse": "description",
    "Nuværende systemer": "systems",
    "Anvendt teknologi": "technologies",
    "Antal gange processen foretages årligt": "cases_per_year",
    "Tidsforbrug pr. proces i minutter": "minutes_per_case",
    "Forventet automatiseringsgrad": "automation_rate",
    "Forventet timeforbrug på udvikling": "build_hours",
}
# kept in the description, under these headings, in this order
OS2_TO_DESCRIPTION = (
    "Statustekst",
    "Faglig kontaktperson",
    "Leverandør",
    "KL ID",
    "KL's Arbejdsgangsbank",
    "Idéer til løsning",
    "Udfordringer i den nuværende proces",
    "Andre nuværende systemer",
    "Antal medarbejdere der foretager processen",
    "Er borgere påvirket",
    "Er virksomheder påvirket",
    "Kommentarer til tidsforbrug",
    "Teknisk implementering",
    "Organisatorisk implementering",
    "Skedulering",
    "Automatiseringen anvender følgende systemer/snitflader",
    "Beskrivelse af automatisering",
    "I hvor høj grad indfriede løsningen de forventede gevinster?",
    "Sidst kontrolleret i forhold til §",
    "Løsningen sat i drift",
    "Løsningen taget ud af drift",
    "Kommentar til realiseret gevinster",
    "Sagsreference i ESDH",
    "Links",
)
# not imported: computed by OS2autoproces, about its users, internal, or files that do not travel in a sheet
OS2_IGNORED = (
    "Indberetter",
    "Anden kontakt information",
    "Tilknyttede personer",
    "Afdelinger",
    "Oprettet",
    "Sidst opdateret",
    "Manuelt tidsforbrug i timer",
    "Forventet årlig effektiviseringspotentiale",
    "I hvor høj grad indgår der faglig vurdering i processen?",
    "I hvor høj grad er processen præget af hyppige ændringer?",
    "I hvor høj grad er processen baseret på struktureret information?",
    "Er der variation i den måde processen løses?",
    "Er de data og informationer, der skal bruges i processen, tilgængelige digitalt i IT-systemer?",
    "Vil en automatiseret løsning bidrage til en højere kvalitet, som er mere ensrettet og med færre fejl?",
    "Vil en automatiseret løsning bidrage til en hurtigere og mere fyldestgørende service?",
    "Vil automatisering frigive tid og nedbringe rutineopgaver, som skaber en bedre trivsel blandt medarbejderne?",
    "I hvor høj grad vurderes det at processen kan automatiseres?",
    "Bilag",
    "Interne Noter",
)
TITLE_MAX, SUMMARY_MAX = 120, 280


def _label_map(mapping: dict[str, str]) -> Parser:
    return _lookup(mapping, lambda text: f"{text!r} is not a value OS2autoproces uses here")


def _os2_domains(value: Any, ctx: Context) -> list[str]:
    keys = []
    for label in _list(value, ctx):
        if label.casefold() not in OS2_DOMAINS:
            raise ValueError(f"{label!r} is not a Fagområde of OS2autoproces")
        keys.append(OS2_DOMAINS[label.casefold()])
    return keys


OS2_PARSERS: dict[str, Parser] = {
    "external_id": _text,
    "phase": _label_map(OS2_PHASES),
    "status": _label_map(OS2_STATUSES),
    "visibility": _label_map(OS2_VISIBILITY),
    "domain": _os2_domains,
    "owner_municipality": _municipality,
    "systems": _list,
    "technologies": _list,
    "cases_per_year": _int,
    "minutes_per_case": _number,
    "automation_rate": _percent,
    "build_hours": _number,
}


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------- columns


@dataclass
class Layout:
    """Which column holds which field, and what the report says about the other columns."""

    format: str
    by_field: dict[str, int]  # our field → column index
    headers: list[str]
    ignored: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    os2: dict[str, int] = field(default_factory=dict)  # OS2 header → column index

    def letter(self, name: str | None) -> str | None:
        index = self.by_field.get(name or "")
        return None if index is None else column_letter(index)

    def columns(self) -> list[ImportColumn]:
        fields = {i: f for f, i in self.by_field.items()}
        return [
            ImportColumn(column=column_letter(i), header=h, field=fields.get(i))
            for i, h in enumerate(self.headers)
            if h
        ]


def layout(kind: ImportKind, headers: list[str], mapping: dict[str, str] | None = None) -> Layout:
    present = {normalise_header(h) for h in headers if h}
    if kind == "processes" and all(normalise_header(m) in present for m in OS2_MARKERS) and not mapping:
        return _os2_layout(headers)
    own = all(normalise_header(m) in present for m in OWN_MARKERS[kind])
    fields = FIELDS[kind]
    known = {f.name for f in fields}
    by_field: dict[str, int] = {}
    explicit: dict[int, str] = {}
    for key, target in (mapping or {}).items():
        index = _mapped_index(key, headers)
        if target and target not in known:
            raise ImportRefused(f"mapping: {target!r} is not a field of {kind}; they are {', '.join(sorted(known))}.")
        explicit[index] = target
        if target:
            by_field[target] = index
    rank: dict[str, int] = {}
    for f in fields:
        if f.name in by_field:  # named by the mapping
            continue
        for position, alias in enumerate(f.headers):
            for index, header in enumerate(headers):
                if not header or index in explicit or normalise_header(header) != normalise_header(alias):
                    continue
                if index not in by_field.values() and (f.name not in rank or position < rank[f.name]):
                    by_field[f.name], rank[f.name] = index, position
    used = set(by_field.values())
    computed = {normalise_header(c) for c in COMPUTED[kind]}
    ignored, unknown = [], []
    for index, header in enumerate(headers):
        if not header or index in used:
            continue
        if index in explicit or normalise_header(header) in computed or _is_alias(fields, header):
            ignored.append(header)
        else:
            unknown.append(header)
    return Layout("rpabank" if own else "generic", by_field, headers, ignored, unknown)


def _is_alias(fields: Sequence[Field], header: str) -> bool:
    return any(normalise_header(header) == normalise_header(a) for f in fields for a in f.headers)


def _mapped_index(key: str, headers: list[str]) -> int:
    if re.fullmatch(r"[A-Z]{1,3}", key):
        from openpyxl.utils import column_index_from_string

        return column_index_from_string(key) - 1
    for index, header in enumerate(headers):
        if normalise_header(header) == normalise_header(key):
            return index
    raise ImportRefused(f"mapping: the sheet has no column {key!r}.")


def _os2_layout(headers: list[str]) -> Layout:
    os2: dict[str, int] = {}
    for index, header in enumerate(headers):
        if header:
            os2.setdefault(normalise_header(header), index)
    by_field = {name: os2[normalise_header(h)] for h, name in OS2_DIRECT.items() if normalise_header(h) in os2}
    kept = {normalise_header(h) for h in OS2_TO_DESCRIPTION}
    known = {normalise_header(h) for h in (*OS2_DIRECT, *OS2_TO_DESCRIPTION, *OS2_IGNORED)}
    ignored = [h for h in headers if h and normalise_header(h) in known - kept - set(map(normalise_header, OS2_DIRECT))]
    unknown = [h for h in headers if h and normalise_header(h) not in known]
    return Layout(OS2, by_field, headers, ignored, unknown, os2={h: os2[h] for h in kept if h in os2})


# ---------------------------------------------------------------- a row, read


@dataclass
class Draft:
    number: int
    values: dict[str, Any]  # field → value (None: the cell is empty)
    errors: list[CellIssue] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)
    action: str = "error"
    key: Any = None
    id: str | None = None
    apply: Callable[[], Awaitable[str | None]] | None = None

    def fail(self, lay: Layout, name: str | None, message: str) -> None:
        self.errors.append(CellIssue(column=lay.letter(name), field=name, message=message))


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    return str(value)


def read_rows(table: Table, lay: Layout, kind: ImportKind, ctx: Context, keep_cells: bool) -> list[Draft]:
    drafts: list[Draft] = []
    for row in table.rows:
        if row.is_empty:
            continue
        if len(drafts) >= MAX_ROWS:
            raise ImportRefused(f"The sheet has more than {MAX_ROWS:,} rows; split it into smaller files.")
        drafts.append(read_row(row, lay, kind, ctx, keep_cells))
    return drafts


def read_row(row: SheetRow, lay: Layout, kind: ImportKind, ctx: Context, keep_cells: bool) -> Draft:
    draft = Draft(row.number, {})
    if keep_cells:
        draft.cells = {column_letter(i): _cell_text(v) for i, v in enumerate(row.values) if v is not None}
    if lay.format == OS2:
        _read_os2(row, lay, ctx, draft)
        return draft
    parsers = {f.name: f.parse for f in FIELDS[kind]}
    for name, index in lay.by_field.items():
        _read_cell(draft, lay, name, row.get(index), parsers[name], ctx)
    return draft


def _read_cell(draft: Draft, lay: Layout, name: str, value: Any, parse: Parser, ctx: Context) -> None:
    if isinstance(value, CellError):
        draft.fail(lay, name, f"{name}: {value}")
        return
    if value is None or (isinstance(value, str) and not value.strip()):
        draft.values[name] = None
        return
    try:
        draft.values[name] = parse(value, ctx)
    except (ValueError, DomainError) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        draft.fail(lay, name, message if message.startswith(f"{name}:") else f"{name}: {message}")


def _read_os2(row: SheetRow, lay: Layout, ctx: Context, draft: Draft) -> None:
    for name, index in lay.by_field.items():
        _read_cell(draft, lay, name, row.get(index), OS2_PARSERS.get(name, _text), ctx)
    v = draft.values
    extra: list[str] = []
    domains = v.pop("domain", None) or []
    v["domain"] = domains[0] if domains else None
    if len(domains) > 1:
        extra.append("Fagområder: " + ", ".join(DOMAINS[d] for d in dict.fromkeys(domains)))
    title = v.get("title") or ""
    if len(title) > TITLE_MAX:
        v["title"] = _shorten(title, TITLE_MAX)
        extra.insert(0, f"Titel: {title}")
    summary = v.get("summary") or ""
    if len(summary) > SUMMARY_MAX:
        v["summary"] = _shorten(summary, SUMMARY_MAX)
        extra.insert(0, f"Resumé: {summary}")
    if not summary and title:
        v["summary"] = _shorten(title, SUMMARY_MAX)
    for header in OS2_TO_DESCRIPTION:
        at = lay.os2.get(normalise_header(header))
        if at is None:
            continue
        cell = row.get(at)
        text = _cell_text(cell.date() if isinstance(cell, dt.datetime) else cell).strip()
        if text and not isinstance(cell, CellError) and text != "https://www.os2autoproces.eu/details/":
            extra.append(f"{header}: {text}")
    if extra:
        body = (v.get("description") or "").strip()
        v["description"] = (body + "\n\n" if body else "") + "Fra OS2autoproces:\n\n" + "\n\n".join(extra)
    v.setdefault("description", None)


# ---------------------------------------------------------------- the import


@dataclass
class Importer:
    session: AsyncSession
    actor: Actor
    kind: ImportKind
    resolve_bot: BotResolver | None = None
    benefits: BenefitService | None = None

    async def run(
        self,
        table: Table,
        *,
        dry_run: bool,
        mapping: dict[str, str] | None = None,
        keep_cells: bool = False,
    ) -> ImportReport:
        self.actor.require_writer()
        if self.kind not in KINDS:
            raise ImportRefused(f"kind: one of {', '.join(KINDS)}.", field="kind")
        lay = layout(self.kind, table.headers, mapping)
        if lay.format == OS2 and self.kind != "processes":
            raise ImportRefused("An OS2autoproces export holds processes: import it with kind=processes.")
        ctx = Context(table.decimal, await self._municipalities())
        # reading and parsing the cells is CPU work: off the event loop, so other requests go on meanwhile
        drafts = await asyncio.to_thread(read_rows, table, lay, self.kind, ctx, keep_cells)
        if not drafts:
            raise ImportRefused("The sheet has a header row but no rows to import.")
        plan = {"processes": self._plan_processes, "adoptions": self._plan_adoptions, "benefits": self._plan_benefits}
        await plan[self.kind](drafts, lay)
        written = await self._apply(drafts, lay, dry_run)
        return _report(self.kind, lay, table.sheet, drafts, dry_run=dry_run, written=written)

    async def _municipalities(self) -> dict[str, str]:
        lookup: dict[str, str] = {}
        for m in (await self.session.scalars(select(Municipality))).all():
            for name in (m.code, m.name, *(m.aliases or [])):
                lookup[name.casefold()] = m.code
        return lookup

    # -------------------------------------------------------- applying, all or nothing

    async def _apply(self, drafts: list[Draft], lay: Layout, dry_run: bool) -> bool:
        if any(d.errors for d in drafts):
            return False
        work = [d for d in drafts if d.apply is not None]
        if not work:
            return not dry_run
        info_rows = list(self.session.info.get("index_rows", []))
        info_dirty = self.session.info.get("index_dirty")
        savepoint = await self.session.begin_nested()
        failed = False
        for draft in work:
            assert draft.apply is not None
            try:
                async with self.session.begin_nested():  # a refused row leaves the others' work intact
                    draft.id = await draft.apply() or draft.id
            except DomainError as exc:
                draft.fail(lay, _field_of(exc.field, lay), exc.message)
                draft.action = "error"
                failed = True
        if failed or dry_run:
            await savepoint.rollback()
            self.session.info["index_rows"] = info_rows
            if info_dirty is None:
                self.session.info.pop("index_dirty", None)
            return False
        await savepoint.commit()
        return True

    # -------------------------------------------------------- processes

    async def _plan_processes(self, drafts: list[Draft], lay: Layout) -> None:
        os2 = lay.format == OS2
        if os2 and "external_id" not in lay.by_field:
            raise ImportRefused("The OS2autoproces export has no ID column.")
        ids_by_ref: dict[str, str] = {}
        if os2:
            refs = [d.values.get("external_id") for d in drafts if d.values.get("external_id")]
            for chunk in _chunks(refs):
                stmt = select(ExternalRef.external_id, ExternalRef.process_id).where(
                    ExternalRef.source == OS2, ExternalRef.external_id.in_(chunk)
                )
                ids_by_ref.update({e: p for e, p in (await self.session.execute(stmt)).all()})
        owners = {d.values.get("owner_municipality") or self.actor.municipality for d in drafts} - {None}
        by_title: dict[tuple[str, str], str] = {}
        if "id" not in lay.by_field and not os2:
            titles = select(Process.owner_municipality, Process.title, Process.id).where(
                Process.owner_municipality.in_(list(owners))
            )
            for owner, title, pid in (await self.session.execute(titles)).all():
                by_title.setdefault((owner, title.casefold()), pid)
        seen: dict[Any, int] = {}
        for d in drafts:
            row_owner = d.values.get("owner_municipality")
            if os2:
                ref = d.values.get("external_id")
                if not ref:
                    d.fail(lay, "external_id", "external_id: the row has no OS2autoproces ID.")
                d.key, d.id = ref, ids_by_ref.get(ref or "")
            elif "id" in lay.by_field and d.values.get("id"):
                d.key = d.id = d.values["id"]
            else:
                title = (d.values.get("title") or "").strip()
                d.key = (row_owner or self.actor.municipality, title.casefold())
                d.id = by_title.get(d.key)
            _once(d, seen, lay, "external_id" if os2 else "id")
        existing = await self._processes([d.id for d in drafts if d.id])
        for d in drafts:
            self._plan_process(d, lay, existing.get(d.id or ""))

    async def _processes(self, ids: list[str]) -> dict[str, Process]:
        found: dict[str, Process] = {}
        for chunk in _chunks(ids):
            stmt = select(Process).where(Process.id.in_(chunk)).options(*process_options())
            found.update({p.id: p for p in (await self.session.scalars(stmt)).all()})
        return found

    def _plan_process(self, d: Draft, lay: Layout, current: Process | None) -> None:
        values = {k: v for k, v in d.values.items() if k not in ("id", "external_id")}
        if "contact_name" in values or "contact_email" in values:
            name, email = values.pop("contact_name", None), values.pop("contact_email", None)
            if email and not name:
                name = current.contact_name if current and current.contact_name else email
            values["contact"] = {"name": name, "email": email} if name else None
        owner = values.get("owner_municipality")
        actor = self.actor
        if current is None:
            owner = owner or (None if actor.is_admin else actor.municipality)
            if owner is None:
                d.fail(lay, "owner_municipality", "owner_municipality: an admin must say whose process it is.")
            elif not actor.can_write_for(owner):
                d.fail(lay, "owner_municipality", _not_yours(actor, owner, d.number))
            values["owner_municipality"] = owner
            if d.id is not None and lay.format != OS2 and not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", d.id):
                d.fail(lay, "id", f"id: {d.id!r} is not an id of RPA-banken (lower-case letters, digits and -).")
            data = _convert(d, lay, {k: v for k, v in values.items() if v is not None}, ProcessCreate)
            if d.errors or data is None:
                return
            d.action = "create"
            keep_id = d.id if lay.format != OS2 else None
            ref = d.values.get("external_id")

            async def create() -> str:
                made = await ProcessService(self.session).create(actor, data, process_id=keep_id)
                if lay.format == OS2:
                    self.session.add(ExternalRef(source=OS2, external_id=ref, process_id=made.id))
                    await self.session.flush()
                return made.id

            d.apply = create
            return
        if not (actor.is_admin or actor.can_write_for(current.owner_municipality)) or (
            current.visibility != "network" and not actor.can_write_for(current.owner_municipality)
        ):
            d.fail(lay, "id", _not_yours(actor, current.owner_municipality, d.number))
            return
        if owner and owner != current.owner_municipality and not actor.is_admin:
            d.fail(lay, "owner_municipality", _not_yours(actor, owner, d.number))
            return
        values = {k: v for k, v in values.items() if k in ProcessUpdate.__struct_fields__}
        if values.get("owner_municipality", "") is None:
            values.pop("owner_municipality")
        if "description" in values and values["description"] is None:
            values["description"] = ""
        for required in ("title", "summary", "domain", "phase", "status", "owner_municipality", "visibility"):
            if required in values and values[required] is None:
                d.fail(lay, required, f"{required}: must not be empty.")
        for listed in ("systems", "technologies", "tags"):
            if listed in values and values[listed] is None:
                values[listed] = []
        for flag in ("dpia_done",):  # personal_data may stay unknown
            if flag in values and values[flag] is None:
                values[flag] = False
        update = _convert(d, lay, values, ProcessUpdate)
        if d.errors or update is None:
            return
        before = process_snapshot(current)
        changed = {
            k: v
            for k, v in values.items()
            if _comparable(k, _builtin(getattr(update, k))) != _comparable(k, before.get(k))
        }
        if not changed:
            d.action = "unchanged"
            return
        d.action = "update"
        partial = msgspec.structs.replace(
            ProcessUpdate(), **{k: getattr(update, k) for k in changed if k in ProcessUpdate.__struct_fields__}
        )
        pid = current.id

        async def update_it() -> str:
            return (await ProcessService(self.session).update(actor, pid, partial)).id

        d.apply = update_it

    # -------------------------------------------------------- adoptions

    async def _who(self, drafts: list[Draft], lay: Layout, *, period: bool) -> set[str]:
        """Fill in each row's process and municipality (and period); the ids of the processes the actor sees."""
        seen: dict[Any, int] = {}
        for d in drafts:
            v = d.values
            if "municipality" not in lay.by_field or not v.get("municipality"):
                if self.actor.is_admin:
                    d.fail(lay, "municipality", "municipality: an admin must say whose row it is.")
                v["municipality"] = self.actor.municipality
            if not v.get("process"):
                d.fail(lay, "process", "process: give the process's id (Proces-ID).")
            if period and not v.get("period"):
                d.fail(lay, "period", "period: give a year (2024), a quarter (2024-Q2) or a month (2024-05).")
            code = v.get("municipality")
            if code and not self.actor.can_write_for(code):
                d.fail(lay, "municipality", _not_yours(self.actor, code, d.number))
            d.key = (v.get("process"), code, v.get("period")) if period else (v.get("process"), code)
            d.id = "/".join(str(k) for k in d.key if k)
            _once(d, seen, lay, "process")
        wanted = list({d.values["process"] for d in drafts if d.values.get("process")})
        visible: set[str] = set()
        for chunk in _chunks(wanted):
            stmt = select(Process.id).where(Process.id.in_(chunk), visible_processes(self.actor))
            visible.update((await self.session.scalars(stmt)).all())
        for d in drafts:
            if d.values.get("process") and d.values["process"] not in visible:
                d.fail(lay, "process", f"process: no process with id {d.values['process']!r}.")
        return visible

    async def _plan_adoptions(self, drafts: list[Draft], lay: Layout) -> None:
        visible = await self._who(drafts, lay, period=False)
        existing: dict[tuple[str, str], Adoption] = {}
        for chunk in _chunks(list(visible)):
            stmt = select(Adoption).where(Adoption.process_id.in_(chunk))
            existing.update({(a.process_id, a.municipality_code): a for a in (await self.session.scalars(stmt)).all()})
        for d in drafts:
            if d.errors:
                continue
            current = existing.get(d.key)
            before = _adoption_values(current) if current else {}
            merged = before | {k: v for k, v in d.values.items() if k not in ("process", "municipality")}
            if not merged.get("status"):
                d.fail(lay, "status", "status: give the adoption's status (e.g. I drift).")
                continue
            body: dict[str, Any] = {k: v for k, v in merged.items() if k in AdoptionWrite.__struct_fields__}
            body["bot"] = {"repo": merged["bot_repo"], "ref": merged.get("bot_ref")} if merged.get("bot_repo") else None
            body["contact"] = (
                {"name": merged["contact_name"], "email": merged.get("contact_email")}
                if merged.get("contact_name")
                else None
            )
            exists = current is not None
            data = _to_write(d, lay, body, AdoptionWrite, exists=exists, changed=not exists or _differs(merged, before))
            if data is None:
                continue
            process_id, code = d.key
            if data.bot is not None and self.resolve_bot is not None:
                try:
                    slug = await self.resolve_bot(data.bot.repo, data.bot.ref)
                except DomainError as exc:
                    d.fail(lay, "bot_ref" if exc.field == "bot.ref" else "bot_repo", exc.message)
                    continue
            else:
                slug = None

            async def put(
                process_id: str = process_id, code: str = code, data: AdoptionWrite = data, slug: str | None = slug
            ) -> None:
                await AdoptionService(self.session).put(self.actor, process_id, code, data, bot_slug=slug)

            d.apply = put

    # -------------------------------------------------------- benefits

    async def _plan_benefits(self, drafts: list[Draft], lay: Layout) -> None:
        visible = await self._who(drafts, lay, period=True)
        existing: dict[tuple[str, str, str], BenefitRecord] = {}
        for chunk in _chunks(list(visible)):
            stmt = select(BenefitRecord).where(BenefitRecord.process_id.in_(chunk))
            existing.update(
                {(r.process_id, r.municipality_code, r.period): r for r in (await self.session.scalars(stmt)).all()}
            )
        service = self.benefits or BenefitService(self.session)
        adopted: set[tuple[str, str]] = set()
        for chunk in _chunks(list(visible)):
            stmt2 = select(Adoption.process_id, Adoption.municipality_code).where(Adoption.process_id.in_(chunk))
            adopted.update(tuple(r) for r in (await self.session.execute(stmt2)).all())  # type: ignore[misc]
        for d in drafts:
            if d.errors:
                continue
            if d.key[:2] not in adopted:
                d.fail(lay, "process", f"Municipality {d.key[1]} has no adoption of {d.key[0]!r}; import it first.")
                continue
            values = dict(d.values)
            source = values.pop("minutes_from", None)
            if source is not None and source.casefold() not in MINUTES_FROM_RECORD:
                values["minutes_saved_per_case"] = None  # the adoption's or the process's minutes, shown in the export
            current = existing.get(d.key)
            before = _benefit_values(current) if current else {}
            merged = before | {k: v for k, v in values.items() if k in BenefitWrite.__struct_fields__}
            if merged.get("cases_handled") is None:
                d.fail(lay, "cases_handled", "cases_handled: give the number of cases handled in the period.")
                continue
            exists = current is not None
            data = _to_write(
                d, lay, merged, BenefitWrite, exists=exists, changed=not exists or _differs(merged, before)
            )
            if data is None:
                continue
            process_id, code, period = d.key

            async def put(
                process_id: str = process_id,
                code: str = code,
                period: str = period,
                data: Any = data,
                service: BenefitService = service,
            ) -> None:
                await service.put(self.actor, process_id, code, period, data)

            d.apply = put


# ---------------------------------------------------------------- helpers


def _chunks(items: Sequence[Any]) -> Iterable[list[Any]]:
    items = list(dict.fromkeys(items))
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _once(d: Draft, seen: dict[Any, int], lay: Layout, name: str) -> None:
    if d.key is None or d.key in seen:
        if d.key is not None:
            d.fail(lay, name, f"{name}: row {seen[d.key]} already has the same {_what(d.key)}; each may appear once.")
        return
    seen[d.key] = d.number


def _what(key: Any) -> str:
    return (
        "process, municipality and period"
        if isinstance(key, tuple) and len(key) == 3
        else ("id" if not isinstance(key, tuple) else "process and municipality")
    )


def _not_yours(actor: Actor, code: str, row: int) -> str:
    return f"Row {row} belongs to municipality {code}; you import for municipality {actor.municipality} only."


AT = re.compile(r"\s*-\s*at `\$\.?([^`]*)`\s*$")


def _differs(merged: dict[str, Any], before: dict[str, Any]) -> bool:
    return _comparable_all(merged) != _comparable_all(before)


def _to_write(d: Draft, lay: Layout, values: dict[str, Any], struct: type[Any], *, exists: bool, changed: bool) -> Any:
    """The row's values as the API's input struct, or None when the row is refused (its errors recorded) or
    changes nothing (`unchanged`); `d.action` says which of create, update or unchanged it is."""
    data = _convert(d, lay, {k: v for k, v in values.items() if v is not None}, struct)
    if data is None:
        return None
    if not changed:
        d.action = "unchanged"
        return None
    d.action = "update" if exists else "create"
    return data


def _convert(d: Draft, lay: Layout, values: dict[str, Any], struct: type[Any]) -> Any:
    try:
        return msgspec.convert(values, struct, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = AT.search(message)
        path = match.group(1) if match else ""
        name = path.split(".")[0].split("[")[0] or None
        if name == "contact":
            name = "contact_email" if "email" in path else "contact_name"
        elif name == "bot":
            name = "bot_ref" if "ref" in path else "bot_repo"
        missing = re.search(r"missing required field `([^`]+)`", message)
        if missing:
            name = missing.group(1)
            text = f"{name}: give it (the column is missing or the cell is empty)."
        else:
            text = f"{name}: {AT.sub('', message)}" if name else AT.sub("", message)
        d.fail(lay, _field_of(name, lay), text)
        return None


def _field_of(name: str | None, lay: Layout) -> str | None:
    if name == "contact":
        return "contact_name"
    if name == "bot.ref":
        return "bot_ref"
    if name == "bot.repo":
        return "bot_repo"
    return name


def _builtin(value: Any) -> Any:
    return msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value


def _comparable(name: str, value: Any) -> Any:
    if name in ("systems", "technologies", "tags"):
        return [term_key(v) for v in dict.fromkeys(term_label(x) for x in (value or []))]
    if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return value.strip() or None
    if name == "description" and value is None:
        return None
    if isinstance(value, dict):
        return {k: _comparable(k, v) for k, v in value.items()}
    return value


def _comparable_all(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _comparable(k, v) for k, v in values.items() if k not in ("process", "municipality", "period")}


def _adoption_values(a: Adoption) -> dict[str, Any]:
    return {
        "status": a.status,
        "started_on": a.started_on,
        "live_on": a.live_on,
        "bot_repo": a.bot_repo,
        "bot_ref": a.bot_ref,
        "cases_per_year": a.cases_per_year,
        "minutes_per_case": to_float(a.minutes_per_case),
        "automation_rate": to_float(a.automation_rate),
        "notes": a.notes,
        "contact_name": a.contact_name,
        "contact_email": a.contact_email,
    }


def _benefit_values(r: BenefitRecord) -> dict[str, Any]:
    return {
        "cases_handled": r.cases_handled,
        "minutes_saved_per_case": to_float(r.minutes_saved_per_case),
        "baseline_minutes": to_float(r.baseline_minutes),
        "running_cost_dkk": to_float(r.running_cost_dkk),
        "budget_realised": r.budget_realised,
        "note": r.note,
        "quality": r.quality,
        "work_environment": r.work_environment,
        "citizen_experience": r.citizen_experience,
        "qualitative_note": r.qualitative_note,
    }


def _report(
    kind: ImportKind, lay: Layout, sheet: str, drafts: list[Draft], *, dry_run: bool, written: bool
) -> ImportReport:
    summary = ImportSummary()
    rows = []
    for d in drafts:
        action = "error" if d.errors else d.action
        setattr(summary, action, getattr(summary, action) + 1)
        rows.append(ImportRow(row=d.number, action=action, id=d.id, errors=d.errors, cells=d.cells))  # type: ignore[arg-type]
    return ImportReport(
        kind=kind,
        format=lay.format,  # type: ignore[arg-type]
        sheet=sheet,
        dry_run=dry_run,
        written=written,
        summary=summary,
        rows=rows,
        columns=lay.columns(),
        ignored_columns=lay.ignored,
        unknown_columns=lay.unknown,
    )


async def import_sheet(
    importer: Importer,
    data: bytes,
    *,
    dry_run: bool,
    mapping: dict[str, str] | None = None,
    keep_cells: bool = False,
) -> ImportReport:
    """Read `data` (XLSX or CSV) and import it; the one entry of the API, the page and the command line."""
    if len(data) > MAX_BYTES:
        raise FileTooLarge(f"The file is {len(data) / 1024 / 1024:.1f} MB; an import takes at most 20 MB.")
    importer.actor.require_writer()
    with open_table(data, sheet=SHEETS.get(importer.kind)) as table:
        return await importer.run(table, dry_run=dry_run, mapping=mapping, keep_cells=keep_cells)


def parse_mapping(text: str | None) -> dict[str, str] | None:
    """`mapping` as JSON (`{"Sagsantal": "cases_per_year"}`) or as `Sagsantal=cases_per_year;D=title`."""
    if not text or not text.strip():
        return None
    text = text.strip()
    if text.startswith("{"):
        try:
            value = msgspec.json.decode(text, type=dict[str, str])
        except msgspec.DecodeError as exc:
            raise ImportRefused(f"mapping: not a JSON object of column → field ({exc}).", field="mapping") from None
        return value
    pairs = {}
    for part in re.split(r"[;\n]", text):
        if part.strip():
            column, sep, target = part.partition("=")
            if not sep:
                raise ImportRefused(f"mapping: write column=field, not {part.strip()!r}.", field="mapping")
            pairs[column.strip()] = target.strip()
    return pairs
