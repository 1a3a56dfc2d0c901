"""The whole catalogue as one JSON document: export, and all-or-nothing import.

Importing an export into an empty database and exporting again gives the identical file:
timestamps, versions, vocabulary order and history all travel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.formulas import parse_period, to_decimal, to_float
from catalogue.models import Adoption, BenefitRecord, Municipality, Process, ProcessRevision, ProcessTerm
from catalogue.schemas import (
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
    Population,
    ProcessId,
    Rate,
    Summary,
    TermList,
    Title,
)
from catalogue.services import process_options, process_snapshot, terms_for
from catalogue.vocab import AdoptionStatus, Domain, Phase, Status, Visibility, term_key, term_label
from core.errors import Conflict, Invalid

FORMAT = "rpabank-catalogue"
FORMAT_VERSION = 2  # 2: benefit records and the municipalities' hourly cost

_STRICT = {"forbid_unknown_fields": True, "kw_only": True}


class MunicipalityRecord(msgspec.Struct, **_STRICT):
    code: MunicipalityCode
    name: str
    cvr: Cvr | None
    population: Population | None
    member_since: dt.date | None
    member_until: dt.date | None
    aliases: list[Alias]
    created_at: dt.datetime
    updated_at: dt.datetime
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
    personal_data: bool
    dpia_done: bool
    cases_per_year: CasesPerYear | None
    minutes_per_case: Minutes | None
    automation_rate: Rate | None
    build_hours: Hours | None
    derived_from: ProcessId | None
    visibility: Visibility
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class AdoptionRecord(msgspec.Struct, **_STRICT):
    process: ProcessId
    municipality: MunicipalityCode
    status: AdoptionStatus
    started_on: dt.date | None
    live_on: dt.date | None
    bot_repo: str | None
    bot_ref: str | None
    cases_per_year: CasesPerYear | None
    minutes_per_case: Minutes | None
    automation_rate: Rate | None
    notes: str | None
    contact: Contact | None
    created_at: dt.datetime
    updated_at: dt.datetime


class BenefitRecordRecord(msgspec.Struct, **_STRICT):
    process: ProcessId
    municipality: MunicipalityCode
    period: str
    cases_handled: CasesHandled
    minutes_saved_per_case: MinutesPerCase | None
    baseline_minutes: MinutesPerCase | None
    running_cost_dkk: Dkk | None
    budget_realised: bool
    note: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class RevisionRecord(msgspec.Struct, **_STRICT):
    process: ProcessId
    version: int
    changed_at: dt.datetime
    actor: str
    action: str
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


def parse_catalogue(raw: bytes) -> CatalogueFile:
    try:
        doc = msgspec.json.decode(raw, type=CatalogueFile)
    except msgspec.DecodeError as exc:
        raise Invalid(f"This is not a catalogue export: {exc}") from None
    if doc.format != FORMAT:
        raise Invalid(f"This file's format is {doc.format!r}, not {FORMAT!r}.", field="format")
    if doc.format_version > FORMAT_VERSION:
        raise Invalid(
            f"This file is format version {doc.format_version}; this RPA-banken reads up to {FORMAT_VERSION}.",
            field="format_version",
        )
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
    codes = {m.code for m in doc.municipalities}
    ids = {p.id for p in doc.processes}
    _check_references(doc, codes, ids)

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


def _check_references(doc: CatalogueFile, codes: set[str], ids: set[str]) -> None:
    """Name the first broken reference instead of failing on a foreign key later."""
    if len(codes) != len(doc.municipalities):
        raise Invalid("A municipality code appears twice.", field="municipalities")
    if len(ids) != len(doc.processes):
        raise Invalid("A process id appears twice.", field="processes")
    for p in doc.processes:
        if p.owner_municipality not in codes:
            raise Invalid(
                f"Process {p.id!r} is owned by unknown municipality {p.owner_municipality}.", field="processes"
            )
        for field in ("duplicate_of", "derived_from"):
            target = getattr(p, field)
            if target and target not in ids:
                raise Invalid(f"Process {p.id!r}: {field} names unknown process {target!r}.", field="processes")
    pairs = set()
    for a in doc.adoptions:
        if a.process not in ids or a.municipality not in codes:
            raise Invalid(
                f"Adoption {a.process}/{a.municipality} names an unknown process or municipality.", field="adoptions"
            )
        if (a.process, a.municipality) in pairs:
            raise Invalid(f"Adoption {a.process}/{a.municipality} appears twice.", field="adoptions")
        pairs.add((a.process, a.municipality))
    for r in doc.history:
        if r.process not in ids:
            raise Invalid(f"History names unknown process {r.process!r}.", field="history")
    periods = set()
    for b in doc.benefits:
        where = f"Benefit record {b.process}/{b.municipality}/{b.period}"
        if (b.process, b.municipality) not in pairs:
            raise Invalid(f"{where} names an adoption that is not in the file.", field="benefits")
        parse_period(b.period, "benefits")
        if (b.process, b.municipality, b.period) in periods:
            raise Invalid(f"{where} appears twice.", field="benefits")
        periods.add((b.process, b.municipality, b.period))
