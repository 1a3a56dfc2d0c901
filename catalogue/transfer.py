"""The whole catalogue as one JSON document: export, and all-or-nothing import.

Importing an export into an empty database and exporting again gives the identical file:
timestamps, versions, vocabulary order and history all travel.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.formulas import parse_period, to_decimal, to_float
from catalogue.models import Adoption, BenefitRecord, Municipality, Process, ProcessRevision, ProcessTerm
from catalogue.schemas import (
    TEXT,
    Alias,
    CasesHandled,
    CasesPerYear,
    Contact,
    Cvr,
    Description,
    Dkk,
    HourlyCost,
    Hours,
    Kle,
    LongText,
    Minutes,
    MinutesPerCase,
    MunicipalityCode,
    MunicipalityName,
    Name,
    Population,
    ProcessId,
    Rate,
    Summary,
    TermList,
    Title,
    readable,
)
from catalogue.services import process_options, process_snapshot, terms_for
from catalogue.vocab import AdoptionStatus, Domain, Phase, Status, Visibility, term_key, term_label
from core.errors import Conflict, Invalid

FORMAT = "rpabank-catalogue"
FORMAT_VERSION = 2  # 2: benefit records and the municipalities' hourly cost

_STRICT = {"forbid_unknown_fields": True, "kw_only": True}
# The same rules as the API's: timestamps with their time zone, versions from 1, text without control characters.
Stamp = Annotated[dt.datetime, Meta(tz=True)]
Version = Annotated[int, Meta(ge=1)]
Action = Annotated[str, Meta(min_length=1, max_length=20, pattern=TEXT)]
Repo = Annotated[str, Meta(min_length=1, max_length=500, pattern=TEXT)]
Ref = Annotated[str, Meta(min_length=1, max_length=200, pattern=TEXT)]


class MunicipalityRecord(msgspec.Struct, **_STRICT):
    code: MunicipalityCode
    name: MunicipalityName
    cvr: Cvr | None
    population: Population | None
    member_since: dt.date | None
    member_until: dt.date | None
    aliases: list[Alias]
    created_at: Stamp
    updated_at: Stamp
    hourly_cost_dkk: HourlyCost | None = None


class ProcessRecord(msgspec.Struct, **_STRICT):
    id: ProcessId
    title: Title
    summary: Summary
    description: Description
    domain: Domain
    kle: Kle | None
    phase: Phase
    status: Status
    duplicate_of: ProcessId | None
    systems: TermList
    technologies: TermList
    tags: TermList
    owner_municipality: MunicipalityCode
    contact: Contact | None
    legal_basis: LongText | None
    personal_data: bool | None
    dpia_done: bool
    cases_per_year: CasesPerYear | None
    minutes_per_case: Minutes | None
    automation_rate: Rate | None
    build_hours: Hours | None
    derived_from: ProcessId | None
    visibility: Visibility
    created_at: Stamp
    updated_at: Stamp
    version: Version


class AdoptionRecord(msgspec.Struct, **_STRICT):
    process: ProcessId
    municipality: MunicipalityCode
    status: AdoptionStatus
    started_on: dt.date | None
    live_on: dt.date | None
    bot_repo: Repo | None
    bot_ref: Ref | None
    cases_per_year: CasesPerYear | None
    minutes_per_case: Minutes | None
    automation_rate: Rate | None
    notes: LongText | None
    contact: Contact | None
    created_at: Stamp
    updated_at: Stamp


class BenefitRecordRecord(msgspec.Struct, **_STRICT):
    process: ProcessId
    municipality: MunicipalityCode
    period: str
    cases_handled: CasesHandled
    minutes_saved_per_case: MinutesPerCase | None
    baseline_minutes: MinutesPerCase | None
    running_cost_dkk: Dkk | None
    budget_realised: bool
    note: LongText | None
    created_at: Stamp
    updated_at: Stamp


class RevisionRecord(msgspec.Struct, **_STRICT):
    process: ProcessId
    version: Version
    changed_at: Stamp
    actor: Name
    action: Action
    changes: list[dict[str, Any]]


class CatalogueFile(msgspec.Struct, **_STRICT):
    format: str
    format_version: int
    municipalities: list[MunicipalityRecord]
    processes: list[ProcessRecord]
    adoptions: list[AdoptionRecord]
    history: list[RevisionRecord]
    benefits: list[BenefitRecordRecord] = msgspec.field(default_factory=list)


def _contact(name: str | None, email: str | None) -> Contact | None:
    return Contact(name=name, email=email) if name else None


# A record's field is the column of the same name, except these.
_COLUMNS = {"process": "process_id", "municipality": "municipality_code"}

_R = TypeVar("_R", bound=msgspec.Struct)
_M = TypeVar("_M")


def _record(record_type: type[_R], row: Any, **given: Any) -> _R:
    """A row as its record: each field from its column (numbers as floats) unless `given`."""
    values = dict(given)
    for name in record_type.__struct_fields__:
        if name in values:
            continue
        if name == "contact":
            values[name] = _contact(row.contact_name, row.contact_email)
            continue
        value = getattr(row, _COLUMNS.get(name, name))
        values[name] = to_float(value) if isinstance(value, Decimal) else value
    return record_type(**values)


def _row(model: type[_M], record: msgspec.Struct, *, skip: tuple[str, ...] = (), **given: Any) -> _M:
    """A record as its row, the reverse of `_record`: numbers as the decimals they were written as."""
    values = dict(given)
    for name in record.__struct_fields__:
        if name in values or name in skip:
            continue
        value = getattr(record, name)
        if name == "contact":
            values["contact_name"] = value.name if value else None
            values["contact_email"] = value.email if value else None
            continue
        values[_COLUMNS.get(name, name)] = to_decimal(value) if isinstance(value, float) else value
    return model(**values)


async def _all(session: AsyncSession, model: type[_M], *order: Any) -> Sequence[_M]:
    return (await session.scalars(select(model).order_by(*order))).all()


async def export_catalogue(session: AsyncSession) -> bytes:
    processes = (await session.scalars(select(Process).order_by(Process.id).options(*process_options()))).all()
    doc = CatalogueFile(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        municipalities=[
            _record(MunicipalityRecord, m, aliases=list(m.aliases or []))
            for m in await _all(session, Municipality, Municipality.code)
        ],
        processes=[
            msgspec.convert(
                {
                    **process_snapshot(p),
                    "id": p.id,
                    "created_at": p.created_at,
                    "updated_at": p.updated_at,
                    "version": p.version,
                },
                ProcessRecord,
                from_attributes=False,
                builtin_types=(dt.datetime,),
            )
            for p in processes
        ],
        adoptions=[
            _record(AdoptionRecord, a)
            for a in await _all(session, Adoption, Adoption.process_id, Adoption.municipality_code)
        ],
        history=[
            _record(RevisionRecord, r, changes=list(r.changes))
            for r in await _all(
                session, ProcessRevision, ProcessRevision.process_id, ProcessRevision.version, ProcessRevision.id
            )
        ],
        benefits=[
            _record(BenefitRecordRecord, b)
            for b in await _all(
                session, BenefitRecord, BenefitRecord.process_id, BenefitRecord.municipality_code, BenefitRecord.period
            )
        ],
    )
    return msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n"


class _Envelope(msgspec.Struct, **_STRICT):
    """The file's frame; each record is checked on its own, so every broken one is named."""

    format: str
    format_version: int
    municipalities: list[msgspec.Raw]
    processes: list[msgspec.Raw]
    adoptions: list[msgspec.Raw]
    history: list[msgspec.Raw]
    benefits: list[msgspec.Raw] = msgspec.field(default_factory=list)


_SECTIONS: dict[str, type[msgspec.Struct]] = {
    "municipalities": MunicipalityRecord,
    "processes": ProcessRecord,
    "adoptions": AdoptionRecord,
    "history": RevisionRecord,
    "benefits": BenefitRecordRecord,
}
_AT = re.compile(r" - at `\$\.?([^`]*)`$")


def _keys(raw: msgspec.Raw) -> dict[str, str]:
    """What names a record (its id, code or process/municipality/period), as far as it can be read."""
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: data[k] for k in ("id", "code", "process", "municipality", "period") if isinstance(data.get(k), str)}


def _problem(where: str, exc: msgspec.ValidationError) -> str:
    message = str(exc)
    at = _AT.search(message)
    field = at.group(1) if at else ""
    text = readable(message[: at.start()] if at else message)
    return f"{where}: {field}: {text}" if field else f"{where}: {text}"


def parse_catalogue(raw: bytes) -> CatalogueFile:
    """The file as a catalogue, checked with the API's rules. Raises Invalid naming every problem, one a line."""
    try:
        frame = msgspec.json.decode(raw, type=_Envelope)
    except msgspec.ValidationError as exc:
        raise Invalid(_problem("This is not a catalogue export", exc)) from None
    except msgspec.DecodeError as exc:
        raise Invalid(f"This is not a catalogue export: {exc}") from None
    if frame.format != FORMAT:
        raise Invalid(f"This file's format is {frame.format!r}, not {FORMAT!r}.", field="format")
    if frame.format_version > FORMAT_VERSION:
        raise Invalid(
            f"This file is format version {frame.format_version}; this RPA-banken reads up to {FORMAT_VERSION}.",
            field="format_version",
        )
    problems: list[str] = []
    records: dict[str, list[Any]] = {}
    unreadable: set[str] = set()  # ids and codes of records that broke a rule: links to them are not "unknown"
    for section, record_type in _SECTIONS.items():
        records[section] = []
        for index, item in enumerate(getattr(frame, section)):
            try:
                records[section].append(msgspec.json.decode(item, type=record_type))
            except msgspec.ValidationError as exc:
                keys = _keys(item)
                label = f" ({'/'.join(keys.values())})" if keys else ""
                problems.append(_problem(f"{section}[{index}]{label}", exc))
                unreadable.update(keys.get(k, "") for k in ("id", "code"))
    doc = CatalogueFile(format=frame.format, format_version=frame.format_version, **records)
    problems += check_catalogue(doc, unreadable)
    if problems:
        raise Invalid("\n".join(problems))
    return doc


async def import_catalogue(session: AsyncSession, raw: bytes) -> dict[str, int]:
    """Load an export into an empty catalogue. The caller commits; any error leaves nothing behind."""
    doc = parse_catalogue(raw)
    try:
        return await _import(session, doc)
    except IntegrityError as exc:
        raise Invalid(f"The file clashes with itself or the database: {exc.orig}") from None


async def _import(session: AsyncSession, doc: CatalogueFile) -> dict[str, int]:
    for model in (Municipality, Process):
        if await session.scalar(select(func.count()).select_from(model)):
            raise Conflict("The catalogue is not empty; import goes into an empty data folder or database.")
    for m in doc.municipalities:
        session.add(_row(Municipality, m, aliases=list(m.aliases)))
    await session.flush()

    # Terms first (each kind once), then processes without their links to each other.
    term_rows = {}
    for kind, field in (("system", "systems"), ("technology", "technologies"), ("tag", "tags")):
        wanted: dict[str, str] = {}
        for p in doc.processes:
            for label in getattr(p, field):
                wanted.setdefault(term_key(label), term_label(label))
        term_rows[kind] = await terms_for(session, kind, wanted)
    await session.flush()

    created = []
    for p in doc.processes:
        process = _row(Process, p, skip=("systems", "technologies", "tags", "duplicate_of", "derived_from"))
        links: list[ProcessTerm] = []
        for kind, field in (("system", "systems"), ("technology", "technologies"), ("tag", "tags")):
            for label in getattr(p, field):
                links.append(ProcessTerm(term=term_rows[kind][term_key(label)], position=len(links)))
        process.term_links = links
        session.add(process)
        created.append((process, p))
    await session.flush()
    for process, p in created:
        if p.duplicate_of or p.derived_from:
            process.duplicate_of = p.duplicate_of
            process.derived_from = p.derived_from
    await session.flush()

    for a in doc.adoptions:
        session.add(_row(Adoption, a))
    for r in doc.history:
        session.add(_row(ProcessRevision, r))
    await session.flush()
    for b in doc.benefits:
        session.add(_row(BenefitRecord, b))
    await session.flush()
    return {
        "municipalities": len(doc.municipalities),
        "processes": len(doc.processes),
        "adoptions": len(doc.adoptions),
        "history": len(doc.history),
        "benefits": len(doc.benefits),
    }


def _cycle(start: str, links: dict[str, str]) -> bool:
    seen = {start}
    current = links.get(start)
    while current is not None:
        if current in seen:
            return current == start
        seen.add(current)
        current = links.get(current)
    return False


def check_catalogue(doc: CatalogueFile, unreadable: AbstractSet[str] = frozenset()) -> list[str]:
    """Every broken reference and every rule of the API's that a record breaks together with others (or its own
    two dates), one message each: the file is refused as a whole, before anything is written. `unreadable`: the
    ids and codes of records already refused on their own (a link to one is not reported again)."""
    problems: list[str] = []
    if len({m.code for m in doc.municipalities}) != len(doc.municipalities):
        problems.append("municipalities: a municipality code appears twice.")
    if len({p.id for p in doc.processes}) != len(doc.processes):
        problems.append("processes: a process id appears twice.")
    codes = {m.code for m in doc.municipalities} | unreadable
    ids = {p.id for p in doc.processes} | unreadable
    for i, m in enumerate(doc.municipalities):
        if m.member_since and m.member_until and m.member_until < m.member_since:
            problems.append(f"municipalities[{i}] ({m.code}): member_until must not be before member_since.")
    links: dict[str, dict[str, str]] = {"duplicate_of": {}, "derived_from": {}}
    for i, p in enumerate(doc.processes):
        where = f"processes[{i}] ({p.id})"
        if p.owner_municipality not in codes:
            problems.append(f"{where}: owned by unknown municipality {p.owner_municipality}.")
        if p.status == "duplicate" and not p.duplicate_of:
            problems.append(f"{where}: a process with status 'duplicate' needs duplicate_of.")
        if p.duplicate_of and p.status != "duplicate":
            problems.append(f"{where}: duplicate_of is only for a process whose status is 'duplicate'.")
        for field in ("duplicate_of", "derived_from"):
            target = getattr(p, field)
            if target == p.id:
                problems.append(f"{where}: a process cannot be its own {field}.")
            elif target and target not in ids:
                problems.append(f"{where}: {field} names unknown process {target!r}.")
            elif target:
                links[field][p.id] = target
    for i, p in enumerate(doc.processes):
        for field, chain in links.items():
            if p.id in chain and chain[p.id] != p.id and _cycle(p.id, chain):
                problems.append(f"processes[{i}] ({p.id}): {field} makes a cycle ({p.id} → {chain[p.id]} → …).")
    pairs = set()
    for i, a in enumerate(doc.adoptions):
        where = f"adoptions[{i}] ({a.process}/{a.municipality})"
        if a.process not in ids or a.municipality not in codes:
            problems.append(f"{where}: names an unknown process or municipality.")
        if (a.process, a.municipality) in pairs:
            problems.append(f"{where}: the adoption appears twice.")
        pairs.add((a.process, a.municipality))
        if a.started_on and a.live_on and a.live_on < a.started_on:
            problems.append(f"{where}: live_on must not be before started_on.")
    for i, r in enumerate(doc.history):
        if r.process not in ids:
            problems.append(f"history[{i}]: names unknown process {r.process!r}.")
    periods = set()
    for i, b in enumerate(doc.benefits):
        where = f"benefits[{i}] ({b.process}/{b.municipality}/{b.period})"
        if (b.process, b.municipality) not in pairs:
            problems.append(f"{where}: names an adoption that is not in the file.")
        try:
            parse_period(b.period, "benefits")
        except Invalid as exc:
            problems.append(f"{where}: {exc.message}")
        if (b.process, b.municipality, b.period) in periods:
            problems.append(f"{where}: the record appears twice.")
        periods.add((b.process, b.municipality, b.period))
    return problems
