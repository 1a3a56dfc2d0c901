"""The whole catalogue as one JSON document: export, and all-or-nothing import.

Importing an export into an empty database and exporting again gives the identical file:
timestamps, versions, vocabulary order and history all travel.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

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


async def export_catalogue(session: AsyncSession) -> bytes:
    municipalities = (await session.scalars(select(Municipality).order_by(Municipality.code))).all()
    processes = (await session.scalars(select(Process).order_by(Process.id).options(*process_options()))).all()
    adoptions = (
        await session.scalars(select(Adoption).order_by(Adoption.process_id, Adoption.municipality_code))
    ).all()
    revisions = (
        await session.scalars(
            select(ProcessRevision).order_by(ProcessRevision.process_id, ProcessRevision.version, ProcessRevision.id)
        )
    ).all()
    benefits = (
        await session.scalars(
            select(BenefitRecord).order_by(
                BenefitRecord.process_id, BenefitRecord.municipality_code, BenefitRecord.period
            )
        )
    ).all()
    doc = CatalogueFile(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        municipalities=[
            MunicipalityRecord(
                code=m.code,
                name=m.name,
                cvr=m.cvr,
                population=m.population,
                member_since=m.member_since,
                member_until=m.member_until,
                aliases=list(m.aliases or []),
                created_at=m.created_at,
                updated_at=m.updated_at,
                hourly_cost_dkk=to_float(m.hourly_cost_dkk),
            )
            for m in municipalities
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
            AdoptionRecord(
                process=a.process_id,
                municipality=a.municipality_code,
                status=a.status,  # type: ignore[arg-type]
                started_on=a.started_on,
                live_on=a.live_on,
                bot_repo=a.bot_repo,
                bot_ref=a.bot_ref,
                cases_per_year=a.cases_per_year,
                minutes_per_case=to_float(a.minutes_per_case),
                automation_rate=to_float(a.automation_rate),
                notes=a.notes,
                contact=_contact(a.contact_name, a.contact_email),
                created_at=a.created_at,
                updated_at=a.updated_at,
            )
            for a in adoptions
        ],
        history=[
            RevisionRecord(
                process=r.process_id,
                version=r.version,
                changed_at=r.changed_at,
                actor=r.actor,
                action=r.action,
                changes=list(r.changes),
            )
            for r in revisions
        ],
        benefits=[
            BenefitRecordRecord(
                process=b.process_id,
                municipality=b.municipality_code,
                period=b.period,
                cases_handled=b.cases_handled,
                minutes_saved_per_case=to_float(b.minutes_saved_per_case),
                baseline_minutes=to_float(b.baseline_minutes),
                running_cost_dkk=to_float(b.running_cost_dkk),
                budget_realised=b.budget_realised,
                note=b.note,
                created_at=b.created_at,
                updated_at=b.updated_at,
            )
            for b in benefits
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
        session.add(
            Municipality(
                code=m.code,
                name=m.name,
                cvr=m.cvr,
                population=m.population,
                member_since=m.member_since,
                member_until=m.member_until,
                aliases=list(m.aliases),
                created_at=m.created_at,
                updated_at=m.updated_at,
                hourly_cost_dkk=to_decimal(m.hourly_cost_dkk),
            )
        )
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
        process = Process(
            id=p.id,
            title=p.title,
            summary=p.summary,
            description=p.description,
            domain=p.domain,
            kle=p.kle,
            phase=p.phase,
            status=p.status,
            owner_municipality=p.owner_municipality,
            contact_name=p.contact.name if p.contact else None,
            contact_email=p.contact.email if p.contact else None,
            legal_basis=p.legal_basis,
            personal_data=p.personal_data,
            dpia_done=p.dpia_done,
            cases_per_year=p.cases_per_year,
            minutes_per_case=to_decimal(p.minutes_per_case),
            automation_rate=to_decimal(p.automation_rate),
            build_hours=to_decimal(p.build_hours),
            visibility=p.visibility,
            created_at=p.created_at,
            updated_at=p.updated_at,
            version=p.version,
        )
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
        session.add(
            Adoption(
                process_id=a.process,
                municipality_code=a.municipality,
                status=a.status,
                started_on=a.started_on,
                live_on=a.live_on,
                bot_repo=a.bot_repo,
                bot_ref=a.bot_ref,
                cases_per_year=a.cases_per_year,
                minutes_per_case=to_decimal(a.minutes_per_case),
                automation_rate=to_decimal(a.automation_rate),
                notes=a.notes,
                contact_name=a.contact.name if a.contact else None,
                contact_email=a.contact.email if a.contact else None,
                created_at=a.created_at,
                updated_at=a.updated_at,
            )
        )
    for r in doc.history:
        session.add(
            ProcessRevision(
                process_id=r.process,
                version=r.version,
                changed_at=r.changed_at,
                actor=r.actor,
                action=r.action,
                changes=r.changes,
            )
        )
    await session.flush()
    for b in doc.benefits:
        session.add(
            BenefitRecord(
                process_id=b.process,
                municipality_code=b.municipality,
                period=b.period,
                cases_handled=b.cases_handled,
                minutes_saved_per_case=to_decimal(b.minutes_saved_per_case),
                baseline_minutes=to_decimal(b.baseline_minutes),
                running_cost_dkk=to_decimal(b.running_cost_dkk),
                budget_realised=b.budget_realised,
                note=b.note,
                created_at=b.created_at,
                updated_at=b.updated_at,
            )
        )
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
