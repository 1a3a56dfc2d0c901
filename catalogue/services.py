"""Catalogue services. They read and flush; the caller owns the transaction and commits.

Visibility and write rights are decided here, not in the HTTP handlers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy import ColumnElement, case, delete, func, or_, select, text, true, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from catalogue.errors import AdoptionMissing
from catalogue.formulas import (
    DEFAULT_SETTINGS,
    GROUP_BYS,
    RUNNING_STATUSES,
    ZERO,
    AdoptionFacts,
    BenefitSettings,
    Figures,
    RecordFacts,
    adoption_expected_hours,
    avoided_build_hours,
    dkk_saved,
    effective_minutes,
    expected_hours,
    fte,
    hourly_cost,
    net_dkk,
    parse_period,
    period_range,
    realised_hours,
    summarise,
    to_decimal,
    to_float,
)
from catalogue.models import (
    Adoption,
    BenefitRecord,
    Municipality,
    Process,
    ProcessCount,
    ProcessCountChange,
    ProcessDocument,
    ProcessRevision,
    ProcessTerm,
    RunMonth,
    RunRule,
    Term,
    TermDraftUse,
    TermUseChange,
)
from catalogue.notify import Event, notify, process_event_codes
from catalogue.schemas import (
    AdoptionRead,
    AdoptionWrite,
    BenefitFilters,
    BenefitRead,
    BenefitRow,
    BenefitSettingsRead,
    BenefitSummary,
    BenefitWrite,
    BotRef,
    Contact,
    FieldChange,
    FiguresRead,
    MunicipalityCreate,
    MunicipalityRead,
    MunicipalityUpdate,
    ProcessCreate,
    ProcessHistory,
    ProcessRead,
    ProcessUpdate,
    Revision,
    TermCount,
)
from catalogue.vocab import ADOPTION_STATUSES, DOMAINS, PHASES, STATUSES, TERM_KINDS, term_key, term_label
from core.actors import Actor
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, PreconditionFailed, PreconditionRequired
from core.indexing import EntityKind, mark_for_index
from core.reads import read_from
from core.slugs import slugify

# The fields of a process, in the order history and exports show them.
PROCESS_FIELDS = (
    "title",
    "summary",
    "description",
    "domain",
    "kle",
    "phase",
    "status",
    "duplicate_of",
    "systems",
    "technologies",
    "tags",
    "owner_municipality",
    "contact",
    "legal_basis",
    "personal_data",
    "dpia_done",
    "cases_per_year",
    "minutes_per_case",
    "automation_rate",
    "build_hours",
    "derived_from",
    "visibility",
)
TERM_FIELDS = {"systems": "system", "technologies": "technology", "tags": "tag"}
DECIMAL_FIELDS = ("minutes_per_case", "automation_rate", "build_hours")


# ---------------------------------------------------------------- helpers


def _clean_text(value: str, field: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise Invalid(f"{field} must not be empty or only white space.", field=field)
    return cleaned


def _json_value(value: Any) -> Any:
    """A value as history and exports keep it (JSON-safe, exact)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, msgspec.Struct):
        return msgspec.to_builtins(value)
    return value


def visible_rows(actor: Actor, visibility: Any, municipality: Any) -> ColumnElement[bool]:
    """Rows whose `visibility` column is `network`, plus the actor's municipality's own; admins see all."""
    if actor.is_admin:
        return true()
    if actor.municipality:
        return or_(visibility == "network", municipality == actor.municipality)
    return visibility == "network"  # type: ignore[no-any-return]


def visible_adoptions(actor: Actor) -> Any:  # a Select of (Adoption, Process, Municipality)
    """The adoptions of the processes `actor` sees, each with its process and municipality."""
    return (
        select(Adoption, Process, Municipality)
        .join(Process, Process.id == Adoption.process_id)
        .join(Municipality, Municipality.code == Adoption.municipality_code)
        .where(visible_processes(actor))
    )


def chosen(*filters: tuple[Any, object]) -> list[ColumnElement[bool]]:
    """The conditions of the filters given, as (column, value): the column equals the value; an empty filter
    chooses all."""
    return [column == value for column, value in filters if value]


def visible_processes(actor: Actor) -> ColumnElement[bool]:
    """Network processes, plus a municipality's own drafts for its editors; admins see all."""
    return visible_rows(actor, Process.visibility, Process.owner_municipality)


def hidden_draft_owners(actor: Actor, draft_owner: Any) -> ColumnElement[bool] | None:
    """Of kept counts by `draft_owner` (a municipality's drafts), those of the drafts `actor` may not see: every
    other municipality's; None for an admin, who sees all."""
    if actor.is_admin:
        return None
    if actor.municipality:
        return draft_owner != actor.municipality  # type: ignore[no-any-return]
    return true()


async def fold_kept_counts(session: AsyncSession) -> bool:
    """Fold the changes the triggers wrote (migrations 0016 and 0017) into the kept counts: the terms' links into
    `Term.uses`, the drafts' links into `TermDraftUse`, the processes into `ProcessCount`; False when there were
    none. Safe beside writers and beside another instance folding: on PostgreSQL the changes are taken and added in
    one statement each (what a concurrent transaction has not committed yet stays for the next time; the counts'
    rows in one order, so two folds wait for each other rather than deadlock); on SQLite the first update holds the
    database's one write lock until the changes are deleted. The caller commits."""
    terms = await session.scalar(select(TermUseChange.id).limit(1)) is not None
    processes = await session.scalar(select(ProcessCountChange.id).limit(1)) is not None
    drafts_added = (
        "INSERT INTO term_draft_uses (term_id, draft_owner, uses) SELECT term_id, draft_owner, sum(delta) FROM {src} "
        "WHERE draft_owner IS NOT NULL GROUP BY term_id, draft_owner ORDER BY term_id, draft_owner "
        "ON CONFLICT (term_id, draft_owner) DO UPDATE SET uses = term_draft_uses.uses + excluded.uses"
    )
    totals_added = (
        "UPDATE terms SET uses = terms.uses + sums.total FROM (SELECT term_id, sum(delta) AS total FROM {src} "
        "WHERE draft_owner IS NULL GROUP BY term_id) AS sums WHERE terms.id = sums.term_id"
    )
    counted = (
        "INSERT INTO process_counts (draft_owner, processes) SELECT draft_owner, sum(delta) FROM {src} "
        "WHERE true GROUP BY draft_owner ORDER BY draft_owner "
        "ON CONFLICT (draft_owner) DO UPDATE SET processes = process_counts.processes + excluded.processes"
    )
    if session.get_bind().dialect.name == "postgresql":
        if terms:
            taken = "taken AS (DELETE FROM term_use_changes RETURNING term_id, delta, draft_owner)"
            drafts = f"drafts AS ({drafts_added.format(src='taken')})"
            await session.execute(text(f"WITH {taken}, {drafts} {totals_added.format(src='taken')}"))
        if processes:
            taken = "taken AS (DELETE FROM process_count_changes RETURNING draft_owner, delta)"
            await session.execute(text(f"WITH {taken} {counted.format(src='taken')}"))
        return terms or processes
    if terms:
        await session.execute(text(totals_added.format(src="term_use_changes")))
        await session.execute(text(drafts_added.format(src="term_use_changes")))
        await session.execute(delete(TermUseChange))
    if processes:
        await session.execute(text(counted.format(src="process_count_changes")))
        await session.execute(delete(ProcessCountChange))
    return terms or processes


def process_options() -> tuple[Any, ...]:
    return (
        selectinload(Process.term_links).selectinload(ProcessTerm.term),
        selectinload(Process.adoptions),
        selectinload(Process.derived_processes),
    )


def _contact(name: str | None, email: str | None) -> Contact | None:
    return Contact(name=name, email=email) if name else None


# ---------------------------------------------------------------- municipalities


def municipality_read(m: Municipality, today: dt.date | None = None) -> MunicipalityRead:
    today = today or dt.date.today()
    is_member = (m.member_since is None or m.member_since <= today) and (
        m.member_until is None or m.member_until >= today
    )
    if m.member_since is None and m.member_until is None:
        is_member = True
    return read_from(
        MunicipalityRead,
        m,
        is_member=is_member,
        aliases=list(m.aliases or []),
        hourly_cost_dkk=to_float(m.hourly_cost_dkk),
    )


class MunicipalityService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[MunicipalityRead]:
        rows = (await self.session.scalars(select(Municipality).order_by(Municipality.name))).all()
        return [municipality_read(m) for m in rows]

    async def get_model(self, code: str) -> Municipality:
        m = await self.session.get(Municipality, code)
        if m is None:
            raise NotFound(f"No municipality with code {code!r}.", field="code")
        return m

    async def get(self, code: str) -> MunicipalityRead:
        return municipality_read(await self.get_model(code))

    async def create(self, actor: Actor, data: MunicipalityCreate) -> MunicipalityRead:
        actor.require_admin("add municipalities")
        if await self.session.get(Municipality, data.code) is not None:
            raise Conflict(f"Municipality {data.code} exists already.", field="code")
        name = _clean_text(data.name, "name")
        await self._name_free(name, None)
        _check_membership(data.member_since, data.member_until)
        cleaned = {"name": name, "aliases": _aliases(data.aliases), "hourly_cost_dkk": to_decimal(data.hourly_cost_dkk)}
        m = Municipality(**(msgspec.structs.asdict(data) | cleaned))
        self.session.add(m)
        await self.session.flush()
        mark_for_index(self.session, EntityKind.MUNICIPALITY, m.code)
        return municipality_read(m)

    async def update(self, actor: Actor, code: str, data: MunicipalityUpdate) -> MunicipalityRead:
        actor.require_admin("change municipalities")
        m = await self.get_model(code)
        if data.name is not UNSET:
            m.name = _clean_text(data.name, "name")
            await self._name_free(m.name, code)
        for field in ("cvr", "population", "member_since", "member_until"):
            value = getattr(data, field)
            if value is not UNSET:
                setattr(m, field, value)
        if data.aliases is not UNSET:
            m.aliases = _aliases(data.aliases)
        if data.hourly_cost_dkk is not UNSET:
            m.hourly_cost_dkk = to_decimal(data.hourly_cost_dkk)
        _check_membership(m.member_since, m.member_until)
        m.updated_at = utcnow()
        await self.session.flush()
        mark_for_index(self.session, EntityKind.MUNICIPALITY, m.code)
        if data.name is not UNSET:  # process documents show owner and adopter names
            related = select(Process.id).where(
                or_(
                    Process.owner_municipality == code,
                    Process.id.in_(select(Adoption.process_id).where(Adoption.municipality_code == code)),
                )
            )
            mark_for_index(self.session, EntityKind.PROCESS, *(await self.session.scalars(related)).all())
        return municipality_read(m)

    async def _name_free(self, name: str, code: str | None) -> None:
        other = await self.session.scalar(select(Municipality.code).where(Municipality.name == name))
        if other is not None and other != code:
            raise Conflict(f"Municipality {other} is already called {name!r}.", field="name")


def _aliases(aliases: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for alias in aliases:
        label = term_label(alias)
        if label:
            seen.setdefault(label.casefold(), label)
    return list(seen.values())


def _check_membership(since: dt.date | None, until: dt.date | None) -> None:
    if since and until and until < since:
        raise Invalid("member_until must not be before member_since.", field="member_until")


# ---------------------------------------------------------------- processes


LINK_FIELDS = ("derived_from", "duplicate_of")


def process_read(p: Process) -> ProcessRead:
    adopted_by = sorted(a.municipality_code for a in p.adoptions)
    return read_from(
        ProcessRead,
        p,
        domain_label=DOMAINS[p.domain],
        phase_label=PHASES[p.phase],
        status_label=STATUSES[p.status],
        systems=p.terms("system"),
        technologies=p.terms("technology"),
        tags=p.terms("tag"),
        contact=_contact(p.contact_name, p.contact_email),
        minutes_per_case=to_float(p.minutes_per_case),
        automation_rate=to_float(p.automation_rate),
        build_hours=to_float(p.build_hours),
        expected_hours_per_year=to_float(expected_hours(p.cases_per_year, p.minutes_per_case, p.automation_rate)),
        derived=sorted(d.id for d in p.derived_processes if d.visibility == "network"),
        adoption_count=len(adopted_by),
        adopted_by=adopted_by,
    )


def process_snapshot(p: Process) -> dict[str, Any]:
    """Every editable field of a loaded process as JSON values (history, exports)."""
    snap: dict[str, Any] = {}
    for field in PROCESS_FIELDS:
        if field in TERM_FIELDS:
            snap[field] = p.terms(TERM_FIELDS[field])
        elif field == "contact":
            c = _contact(p.contact_name, p.contact_email)
            snap[field] = None if c is None else msgspec.to_builtins(c)
        else:
            snap[field] = _json_value(getattr(p, field))
    return snap


def etag(p: Process | ProcessRead) -> str:
    return f'"{p.version}"'


def matches_etag(if_match: str | None, current: str) -> bool:
    """RFC 9110 If-Match: `*` or a list of entity tags; weak tags compare by their opaque part."""
    if if_match is None:
        return True
    candidates = [c.strip() for c in if_match.split(",")]
    for candidate in candidates:
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == current:
            return True
    return False


# Ids a process never gets: they are pages (/processes/new)
RESERVED_IDS = frozenset({"new"})
SLUG_BATCH = 50  # how many of a title's ids (`x`, `x-2`, …) one query asks for


class ProcessFilters(msgspec.Struct, kw_only=True):
    domain: str | None = None
    phase: str | None = None
    status: str | None = None
    system: str | None = None
    technology: str | None = None
    municipality: str | None = None


class ProcessService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -------------------------------------------------------- reads

    async def get_model(self, actor: Actor, process_id: str) -> Process:
        stmt = select(Process).where(Process.id == process_id, visible_processes(actor)).options(*process_options())
        process = await self.session.scalar(stmt)
        if process is None:
            raise NotFound(f"No process with id {process_id!r}.", field="id")
        return process

    async def get(self, actor: Actor, process_id: str) -> ProcessRead:
        return (await self._shown(actor, [process_read(await self.get_model(actor, process_id))]))[0]

    async def _visible_ids(self, actor: Actor, ids: set[str]) -> set[str]:
        if not ids:
            return set()
        stmt = select(Process.id).where(Process.id.in_(list(ids)), visible_processes(actor))
        return set((await self.session.scalars(stmt)).all())

    async def _shown(self, actor: Actor, reads: list[ProcessRead]) -> list[ProcessRead]:
        """Links to processes `actor` cannot see (a network process derived from, or a duplicate of, a draft)
        are shown as empty: the draft's id must not leak."""
        linked = {i for r in reads for i in (r.derived_from, r.duplicate_of) if i}
        visible = await self._visible_ids(actor, linked)
        for r in reads:
            if r.derived_from and r.derived_from not in visible:
                r.derived_from = None
            if r.duplicate_of and r.duplicate_of not in visible:
                r.duplicate_of = None
        return reads

    def _filtered(self, actor: Actor, f: ProcessFilters) -> Any:  # a Select of processes
        stmt = select(Process).where(visible_processes(actor))
        stmt = stmt.where(*chosen((Process.domain, f.domain), (Process.phase, f.phase), (Process.status, f.status)))
        for kind, value in (("system", f.system), ("technology", f.technology)):
            if value:
                tagged = (
                    select(ProcessTerm.process_id)
                    .join(Term, Term.id == ProcessTerm.term_id)
                    .where(Term.kind == kind, Term.key == term_key(value))
                )
                stmt = stmt.where(Process.id.in_(tagged))
        if f.municipality:
            adopters = select(Adoption.process_id).where(Adoption.municipality_code == f.municipality)
            stmt = stmt.where(or_(Process.owner_municipality == f.municipality, Process.id.in_(adopters)))
        return stmt

    async def find(
        self, actor: Actor, filters: ProcessFilters, *, limit: int = 50, offset: int = 0
    ) -> tuple[int, list[ProcessRead]]:
        stmt = self._filtered(actor, filters)
        if any(msgspec.structs.astuple(filters)):
            total = await self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        else:  # the whole catalogue the actor sees: its kept counts, not a count of every row
            total = await self.visible_count(actor)
        page = stmt.order_by(Process.title, Process.id).limit(limit).offset(offset).options(*process_options())
        rows = (await self.session.scalars(page)).all()
        return total, await self._shown(actor, [process_read(p) for p in rows])

    async def visible_count(self, actor: Actor) -> int:
        """How many processes `actor` sees: the network's and the drafts of the actor's municipality (an admin's:
        all), from their kept counts and the changes not yet folded in (one statement, as the vocabulary's)."""
        kept = union_all(
            select(ProcessCount.draft_owner, ProcessCount.processes.label("n")),
            select(ProcessCountChange.draft_owner, ProcessCountChange.delta),
        ).subquery()
        stmt = select(func.coalesce(func.sum(kept.c.n), 0))
        hidden_owners = hidden_draft_owners(actor, kept.c.draft_owner)
        if hidden_owners is not None:
            stmt = stmt.where(or_(kept.c.draft_owner == "", ~hidden_owners))
        return int(await self.session.scalar(stmt) or 0)

    async def highlights(self, actor: Actor, limit: int = 5) -> tuple[list[ProcessRead], list[tuple[ProcessRead, int]]]:
        """(the newest processes, the processes most municipalities run or are implementing, with that number):
        the front page's."""
        visible = select(Process.id).where(visible_processes(actor))
        newest = (await self.session.scalars(visible.order_by(Process.created_at.desc()).limit(limit))).all()
        running = func.count(Adoption.municipality_code)
        stmt = (
            select(Process.id, running)
            .where(visible_processes(actor))
            .join(Adoption, Adoption.process_id == Process.id)
            .where(Adoption.status.in_(RUNNING_STATUSES))
            .group_by(Process.id)
            .order_by(running.desc(), Process.id)
            .limit(limit)
        )
        most = {str(pid): int(n) for pid, n in (await self.session.execute(stmt)).all()}
        used = [(p, most[p.id]) for p in await self.get_many(actor, list(most))]
        return await self.get_many(actor, list(newest)), used

    async def running_counts(self, ids: Sequence[str]) -> dict[str, int]:
        """How many municipalities run or are implementing each of these processes."""
        if not ids:
            return {}
        stmt = (
            select(Adoption.process_id, func.count())
            .where(Adoption.process_id.in_(list(ids)), Adoption.status.in_(RUNNING_STATUSES))
            .group_by(Adoption.process_id)
        )
        return {str(pid): int(n) for pid, n in (await self.session.execute(stmt)).all()}

    def selected_ids(self, actor: Actor, filters: ProcessFilters) -> Any:
        """A Select of the ids of the processes `filters` choose (for a query over what hangs off them)."""
        return self._filtered(actor, filters).with_only_columns(Process.id)

    async def stream(
        self, actor: Actor, filters: ProcessFilters, ids: Sequence[str] | None = None, *, chunk: int = 500
    ) -> AsyncIterator[list[ProcessRead]]:
        """The processes the list filters choose (or these `ids`, in their order), `chunk` at a time, as
        `find`/`get_many` would give them: read through a server-side cursor, never all in memory at once."""
        if ids is not None:
            for start in range(0, len(ids), chunk):
                yield await self.get_many(actor, ids[start : start + chunk])
            return
        stmt = (
            self._filtered(actor, filters)
            .order_by(Process.title, Process.id)
            .options(*process_options())
            .execution_options(yield_per=chunk)
        )
        result = await self.session.stream_scalars(stmt)
        async for part in result.partitions(chunk):
            yield await self._shown(actor, [process_read(p) for p in part])

    async def choices(self, actor: Actor, limit: int = 1000) -> list[tuple[str, str]]:
        """(id, title) of the processes `actor` may see, by title: the choices of a form's process field."""
        stmt = select(Process.id, Process.title).where(visible_processes(actor)).order_by(Process.title).limit(limit)
        return [(pid, title) for pid, title in (await self.session.execute(stmt)).all()]

    async def get_many(self, actor: Actor, ids: Sequence[str]) -> list[ProcessRead]:
        """These processes in this order (e.g. ranked by a search); invisible or missing ones are left out."""
        if not ids:
            return []
        stmt = select(Process).where(Process.id.in_(list(ids)), visible_processes(actor)).options(*process_options())
        found = {p.id: p for p in (await self.session.scalars(stmt)).all()}
        return await self._shown(actor, [process_read(found[i]) for i in ids if i in found])

    async def history(self, actor: Actor, process_id: str) -> ProcessHistory:
        await self.get_model(actor, process_id)
        rows = (
            await self.session.scalars(
                select(ProcessRevision)
                .where(ProcessRevision.process_id == process_id)
                .order_by(ProcessRevision.version, ProcessRevision.id)
            )
        ).all()
        revisions = [revision_read(r) for r in rows]
        links = [c for r in revisions for c in r.changes if c.field in LINK_FIELDS]
        visible = await self._visible_ids(actor, {v for c in links for v in (c.old, c.new) if isinstance(v, str)})
        for c in links:  # a link to a draft the reader cannot see shows as empty
            c.old = c.old if c.old is None or c.old in visible else None
            c.new = c.new if c.new is None or c.new in visible else None
        return ProcessHistory(process=process_id, revisions=revisions)

    async def term_counts(self, actor: Actor, kind: str) -> list[TermCount]:
        if kind not in TERM_KINDS:
            raise NotFound(f"No vocabulary {kind!r}; there are {', '.join(TERM_KINDS)}.")
        # Each term keeps its number of links (`uses`), and of the links of each municipality's drafts, but for the
        # changes not yet folded in, which are added here: this costs the vocabulary and the recent changes, not the
        # catalogue. The drafts the actor may not see are taken off by their kept counts.
        # One statement, so one moment: a fold committed between two reads would count its changes twice or never.
        pending = (
            select(TermUseChange.term_id, func.sum(TermUseChange.delta).label("delta"))
            .where(TermUseChange.draft_owner.is_(None))
            .group_by(TermUseChange.term_id)
            .subquery()
        )
        count = Term.uses + func.coalesce(pending.c.delta, 0)
        stmt = select(Term.id, Term.key, Term.label).outerjoin(pending, pending.c.term_id == Term.id)
        drafts = union_all(
            select(TermDraftUse.term_id, TermDraftUse.draft_owner, TermDraftUse.uses.label("n")),
            select(TermUseChange.term_id, TermUseChange.draft_owner, TermUseChange.delta).where(
                TermUseChange.draft_owner.is_not(None)
            ),
        ).subquery()
        hidden_owners = hidden_draft_owners(actor, drafts.c.draft_owner)
        if hidden_owners is not None:
            hidden = (
                select(drafts.c.term_id, func.sum(drafts.c.n).label("n"))
                .where(hidden_owners)
                .group_by(drafts.c.term_id)
                .subquery()
            )
            count = count - func.coalesce(hidden.c.n, 0)
            stmt = stmt.outerjoin(hidden, hidden.c.term_id == Term.id)
        terms = (await self.session.execute(stmt.add_columns(count).where(Term.kind == kind))).all()
        counts: dict[int, int] = {i: int(uses) for i, _, _, uses in terms}
        found = [TermCount(key=k, label=label, count=counts[i]) for i, k, label, _ in terms if counts[i] > 0]
        return sorted(found, key=lambda t: (-t.count, t.label))

    # -------------------------------------------------------- writes

    async def create(self, actor: Actor, data: ProcessCreate, process_id: str | None = None) -> ProcessRead:
        """A new process; its id is a free slug of its title, or `process_id` (an import keeping an exported
        id), which must be free."""
        actor.require_writer()
        if actor.is_admin:
            if not data.owner_municipality:
                raise Invalid("An admin must give owner_municipality.", field="owner_municipality")
            owner = data.owner_municipality
        else:
            owner = actor.municipality or ""
            if data.owner_municipality and data.owner_municipality != owner:
                actor.require_write_for(data.owner_municipality, "that process")
        await MunicipalityService(self.session).get_model(owner)

        title = _clean_text(data.title, "title")
        if process_id is not None and await self.session.get(Process, process_id) is not None:
            raise Conflict(f"The id {process_id!r} is taken by another process.", field="id")
        process = Process(
            id=process_id or await self._free_slug(slugify(title), draft=data.visibility == "municipality"),
            owner_municipality=owner,
            title=title,
            summary=_clean_text(data.summary, "summary"),
            version=1,
        )
        process.term_links = []
        process.adoptions = []
        set_committed_value(process, "derived_processes", [])  # a new process has no descendants yet
        values = msgspec.structs.asdict(data)
        values.pop("owner_municipality")
        values.pop("title")
        values.pop("summary")
        await self._apply(actor, process, values)
        self.session.add(process)
        snapshot = process_snapshot(process)
        changes = [{"field": k, "old": None, "new": v} for k, v in snapshot.items() if v not in (None, [], "", False)]
        await self._revised(actor, process, "created", changes)
        return process_read(process)

    async def update(
        self,
        actor: Actor,
        process_id: str,
        data: ProcessUpdate,
        if_match: str | None = None,
        *,
        if_match_required: bool = False,
    ) -> ProcessRead:
        """Change a process. `if_match` (an ETag list or `*`) must name its current version; with
        `if_match_required` (the API) a change without one is refused, so that no write silently overwrites."""
        actor.require_writer()
        process = await self.get_model(actor, process_id)
        actor.require_write_for(process.owner_municipality, f"process {process_id!r}")
        if if_match is None and if_match_required:
            raise PreconditionRequired(
                f'Send If-Match with the ETag you read (now "{process.version}", from GET /api/processes/{process_id}) '
                "so that a change made by someone else in between is not overwritten; `If-Match: *` overwrites."
            )
        if not matches_etag(if_match, etag(process)):
            raise PreconditionFailed(
                f"The process has changed since you read it (now version {process.version}); "
                "read it again and resend your change with the new ETag."
            )
        values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not UNSET}
        if "owner_municipality" in values and values["owner_municipality"] != process.owner_municipality:
            actor.require_admin("move a process to another municipality")
            await MunicipalityService(self.session).get_model(values["owner_municipality"])
        for field in ("title", "summary"):
            if field in values:
                values[field] = _clean_text(values[field], field)
        if values.get("status", process.status) != "duplicate" and "duplicate_of" not in values:
            values["duplicate_of"] = None

        before = process_snapshot(process)
        await self._apply(actor, process, values)
        after = process_snapshot(process)
        changes = [{"field": f, "old": before[f], "new": after[f]} for f in PROCESS_FIELDS if before[f] != after[f]]
        if changes:
            process.version += 1
            process.updated_at = utcnow()
            await self._revised(actor, process, "updated", changes)
            if any(c["field"] in ("visibility", "title") for c in changes):
                await self._reindex_documents(process.id)  # they show its title and are as private as it is
            await notify(self.session, process_event(process, actor, changes))
        return process_read(process)

    async def _revised(self, actor: Actor, process: Process, action: str, changes: list[dict[str, Any]]) -> None:
        """Write `process` with its revision (`action` by `actor`, the fields' old and new values) and queue it for
        the search index."""
        await self.session.flush()
        self.session.add(
            ProcessRevision(
                process_id=process.id,
                version=process.version,
                actor=actor.name,
                user_id=actor.user_id,
                action=action,
                changes=changes,
            )
        )
        await self.session.flush()
        mark_for_index(self.session, EntityKind.PROCESS, process.id)

    async def delete(self, actor: Actor, process_id: str) -> None:
        actor.require_admin("delete processes")
        process = await self.get_model(actor, process_id)
        dupes = (await self.session.scalars(select(Process.id).where(Process.duplicate_of == process.id))).all()
        if dupes:
            raise Conflict(
                f"Processes {', '.join(sorted(dupes))} are marked as duplicates of this one; "
                "point them elsewhere first."
            )
        await self._reindex_documents(process.id)  # they go with it
        await self.session.delete(process)
        await self.session.flush()
        mark_for_index(self.session, EntityKind.PROCESS, process_id)

    async def _reindex_documents(self, process_id: str) -> None:
        ids = (
            await self.session.scalars(select(ProcessDocument.id).where(ProcessDocument.process_id == process_id))
        ).all()
        if ids:
            mark_for_index(self.session, EntityKind.DOCUMENT, *(str(i) for i in ids))

    async def _apply(self, actor: Actor, process: Process, values: dict[str, Any]) -> None:
        for field, value in values.items():
            if field in TERM_FIELDS:
                await self._set_terms(process, TERM_FIELDS[field], value)
            elif field == "contact":
                process.contact_name = value.name.strip() if value else None
                process.contact_email = value.email if value else None
            elif field in DECIMAL_FIELDS:
                setattr(process, field, to_decimal(value))
            elif field in ("description", "legal_basis"):
                setattr(process, field, value.strip() if isinstance(value, str) else value)
            else:
                setattr(process, field, value)
        if process.description is None:
            process.description = ""
        await self._check_links(actor, process)

    async def _check_links(self, actor: Actor, process: Process) -> None:
        if process.status == "duplicate" and not process.duplicate_of:
            raise Invalid("A process with status 'duplicate' needs duplicate_of.", field="duplicate_of")
        if process.duplicate_of and process.status != "duplicate":
            raise Invalid("duplicate_of is only for a process whose status is 'duplicate'.", field="duplicate_of")
        for field in ("duplicate_of", "derived_from"):
            target = getattr(process, field)
            if target is None:
                continue
            if target == process.id:
                raise Invalid(f"A process cannot be its own {field}.", field=field)
            exists = await self.session.scalar(select(Process.id).where(Process.id == target, visible_processes(actor)))
            if exists is None:
                raise Invalid(f"{field}: no process with id {target!r}.", field=field)
        # No cycles in the reuse lineage.
        seen = {process.id}
        current = process.derived_from
        while current is not None:
            if current in seen:
                raise Invalid("derived_from would make a cycle in the reuse lineage.", field="derived_from")
            seen.add(current)
            current = await self.session.scalar(select(Process.derived_from).where(Process.id == current))

    async def _set_terms(self, process: Process, kind: str, labels: Sequence[str]) -> None:
        wanted: dict[str, str] = {}
        for label in labels:
            clean = term_label(label)
            if clean:
                wanted.setdefault(term_key(clean), clean)
        current = [link.term.key for link in process.term_links if link.term.kind == kind]
        if current == list(wanted):
            return
        terms = await terms_for(self.session, kind, wanted)
        others = [link for link in process.term_links if link.term.kind != kind]
        position = len(others)
        new_links = list(others)
        for key in wanted:
            new_links.append(ProcessTerm(term=terms[key], position=position))
            position += 1
        process.term_links = new_links

    async def _free_slug(self, base: str, draft: bool = False) -> str:
        """A free id from the title. A draft's id ends in a random part, so that it never holds the plain id a
        later process of the same title would get: a `-2` would tell others that a hidden draft exists."""
        if draft:
            base = f"{base[:130]}-{secrets.token_hex(3)}"
        # The candidates are asked by id, a batch at a time (the primary key answers): a LIKE on the id would read
        # every id, as SQLite's LIKE ignores case and PostgreSQL's collation orders '-' its own way.
        start = 1
        while True:
            candidates = [base if n == 1 else f"{base}-{n}" for n in range(start, start + SLUG_BATCH)]
            taken = set((await self.session.scalars(select(Process.id).where(Process.id.in_(candidates)))).all())
            for candidate in candidates:
                if candidate not in taken and candidate not in RESERVED_IDS:
                    return candidate
            start += SLUG_BATCH


async def terms_for(session: AsyncSession, kind: str, wanted: dict[str, str]) -> dict[str, Term]:
    """The Term rows for these keys (key → label), creating the missing ones."""
    if not wanted:
        return {}
    existing = {
        t.key: t
        for t in (await session.scalars(select(Term).where(Term.kind == kind, Term.key.in_(list(wanted))))).all()
    }
    for key, label in wanted.items():
        if key not in existing:
            term = Term(kind=kind, key=key, label=label)
            session.add(term)
            existing[key] = term
    return existing


def _process_codes(process: Process) -> list[str]:
    return process_event_codes(process.owner_municipality, (a.municipality_code for a in process.adoptions))


def process_news(process: Process, actor: Actor, **event: Any) -> Event:
    """News about `process` caused by `actor`: its followers hear of it, and the editors of its owner and adopters
    (unless they unfollowed it), the owner's people only while it is a draft; so do the same municipalities'
    webhooks. `event` gives the kind, title and webhook, and whatever differs from that."""
    codes = _process_codes(process)
    about: dict[str, Any] = {
        "url": f"/processes/{process.id}",
        "targets": [("process", process.id)],
        "auto_codes": codes,
        "auto_target": ("process", process.id),
        "private_to": process.owner_municipality if process.visibility != "network" else None,
        "exclude_user": actor.user_id,
        "webhook_codes": codes,
    }
    return Event(**(about | event))


def process_event(process: Process, actor: Actor, changes: list[dict[str, Any]]) -> Event:
    """A process changed: its followers, its owner's followers and its adopters' editors hear which fields."""
    fields = [c["field"] for c in changes]
    return process_news(
        process,
        actor,
        kind="process_changed",
        title=f"{process.title}: ændret ({', '.join(fields)})",
        targets=[("process", process.id), ("municipality", process.owner_municipality)],
        webhook=("process.changed", {"process": process.id, "title": process.title, "fields": fields}),
    )


def adoption_event(process: Process, municipality: Municipality, actor: Actor) -> Event:
    """A municipality has started to use a process: the others that run it hear of it, and its own webhooks."""
    codes, code = _process_codes(process), municipality.code
    return process_news(
        process,
        actor,
        kind="adopted",
        title=f"{municipality.name} anvender nu {process.title}",
        targets=[("process", process.id), ("municipality", code)],
        auto_codes=[c for c in codes if c != code],
        webhook=("process.adopted", {"process": process.id, "title": process.title, "municipality": code}),
        webhook_codes=[*codes, code],
    )


def revision_read(r: ProcessRevision) -> Revision:
    return Revision(
        version=r.version,
        changed_at=r.changed_at,
        actor=r.actor,
        action=r.action,
        changes=[FieldChange(field=c["field"], old=c["old"], new=c["new"]) for c in r.changes],
    )


# ---------------------------------------------------------------- adoptions


def adoption_names(p: Process, m: Municipality) -> dict[str, str]:
    """The fields of AdoptionNamed, which every read about municipality `m`'s adoption of process `p` starts with."""
    return {"process": p.id, "process_title": p.title, "municipality": m.code, "municipality_name": m.name}


def adoption_read(a: Adoption, process: Process, municipality: Municipality) -> AdoptionRead:
    cases = a.cases_per_year if a.cases_per_year is not None else process.cases_per_year
    minutes = a.minutes_per_case if a.minutes_per_case is not None else process.minutes_per_case
    rate = a.automation_rate if a.automation_rate is not None else process.automation_rate
    return read_from(
        AdoptionRead,
        a,
        **adoption_names(process, municipality),
        status_label=ADOPTION_STATUSES[a.status],
        bot=BotRef(repo=a.bot_repo, ref=a.bot_ref, slug=a.bot_slug) if a.bot_repo else None,
        minutes_per_case=to_float(a.minutes_per_case),
        automation_rate=to_float(a.automation_rate),
        expected_hours_per_year=to_float(expected_hours(cases, minutes, rate)),
        contact=_contact(a.contact_name, a.contact_email),
    )


@dataclass
class AdoptionOverview:
    """The dashboard's adoption figures (see AdoptionService.overview)."""

    adoption_count: int
    running_count: int
    expected_hours: float  # per year, of the adoptions in operation
    by_status: dict[str, int]
    processes: int  # processes adopted at least once
    matrix: list[list[AdoptionRead]]  # the most adopted processes' adoptions, most adopted first
    top_expected: list[tuple[str, str, float]]  # (process id, title, expected hours per year) in operation
    adopting_municipalities: set[str]


class AdoptionService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, stmt: Any) -> list[AdoptionRead]:
        rows = (await self.session.execute(stmt)).all()
        return [adoption_read(a, p, m) for a, p, m in rows]

    async def for_process(self, actor: Actor, process_id: str) -> list[AdoptionRead]:
        await ProcessService(self.session).get_model(actor, process_id)
        return await self._rows(
            visible_adoptions(actor).where(Adoption.process_id == process_id).order_by(Municipality.name)
        )

    async def overview(self, actor: Actor, *, matrix_rows: int = 40, top: int = 10) -> AdoptionOverview:
        """The network's adoption figures for the dashboard, counted by the database: the totals in one aggregate
        query, then only the `matrix_rows` most adopted processes' adoptions and the `top` processes by expected
        hours, however many adoptions there are."""
        cases = func.coalesce(Adoption.cases_per_year, Process.cases_per_year)
        minutes = func.coalesce(Adoption.minutes_per_case, Process.minutes_per_case)
        rate = func.coalesce(Adoption.automation_rate, Process.automation_rate)
        hours = cases * minutes * rate / 6000  # cases × minutes / 60 × rate / 100, as `expected_hours`
        running = Adoption.status == "operation"
        joined = select(Adoption).join(Process, Process.id == Adoption.process_id).where(visible_processes(actor))
        totals = (
            await self.session.execute(
                joined.with_only_columns(
                    func.count(),
                    func.count(func.distinct(Adoption.process_id)),
                    func.sum(case((running, hours), else_=0)),
                    *(func.sum(case((Adoption.status == key, 1), else_=0)) for key in ADOPTION_STATUSES),
                )
            )
        ).one()
        adoption_count, processes, expected, *per_status = totals
        by_status = {key: int(n or 0) for key, n in zip(ADOPTION_STATUSES, per_status, strict=True)}
        most = (
            joined.with_only_columns(Adoption.process_id)
            .group_by(Adoption.process_id, Process.title)
            .order_by(func.count().desc(), Process.title)
            .limit(matrix_rows)
        )
        rows = await self._rows(visible_adoptions(actor).where(Adoption.process_id.in_(most)))
        per_process: dict[str, list[AdoptionRead]] = {}
        for a in rows:
            per_process.setdefault(a.process, []).append(a)
        matrix = sorted(per_process.values(), key=lambda group: (-len(group), group[0].process_title))
        top_rows = (
            await self.session.execute(
                joined.where(running)
                .with_only_columns(Adoption.process_id, Process.title, func.coalesce(func.sum(hours), 0))
                .group_by(Adoption.process_id, Process.title)
                .order_by(func.coalesce(func.sum(hours), 0).desc(), Process.title)
                .limit(top)
            )
        ).all()
        adopters = await self.session.scalars(joined.with_only_columns(Adoption.municipality_code).distinct())
        return AdoptionOverview(
            adoption_count=int(adoption_count or 0),
            running_count=by_status.get("operation", 0),
            expected_hours=float(expected or 0),
            by_status=by_status,
            processes=int(processes or 0),
            matrix=matrix,
            top_expected=[(pid, title, float(h)) for pid, title, h in top_rows],
            adopting_municipalities=set(adopters.all()),
        )

    async def visible(self, actor: Actor) -> list[AdoptionRead]:
        """Every adoption of the processes this actor may see, in one query (the network's adoption matrix)."""
        return await self._rows(visible_adoptions(actor).order_by(Municipality.name, Process.title))

    async def for_municipality(self, actor: Actor, code: str) -> list[AdoptionRead]:
        await MunicipalityService(self.session).get_model(code)
        return await self._rows(
            visible_adoptions(actor).where(Adoption.municipality_code == code).order_by(Process.title)
        )

    async def get(self, actor: Actor, process_id: str, code: str) -> AdoptionRead:
        rows = await self._rows(
            visible_adoptions(actor).where(Adoption.process_id == process_id, Adoption.municipality_code == code)
        )
        if not rows:
            await ProcessService(self.session).get_model(actor, process_id)
            raise AdoptionMissing(f"Municipality {code} has no adoption of {process_id!r}.")
        return rows[0]

    async def put(
        self, actor: Actor, process_id: str, code: str, data: AdoptionWrite, bot_slug: str | None = None
    ) -> tuple[AdoptionRead, bool]:
        """Register or replace an adoption. `bot_slug`: the registered bot `data.bot` names, if it is one."""
        actor.require_writer()
        process = await ProcessService(self.session).get_model(actor, process_id)
        municipality = await MunicipalityService(self.session).get_model(code)
        actor.require_write_for(code, f"the adoption of municipality {code}")
        if data.started_on and data.live_on and data.live_on < data.started_on:
            raise Invalid("live_on must not be before started_on.", field="live_on")
        adoption = await self.session.get(Adoption, (process_id, code))
        created = adoption is None
        now = utcnow()
        if adoption is None:
            adoption = Adoption(process_id=process_id, municipality_code=code, created_at=now)
            self.session.add(adoption)
        adoption.status = data.status
        adoption.started_on = data.started_on
        adoption.live_on = data.live_on
        adoption.bot_repo = data.bot.repo.strip() if data.bot else None
        adoption.bot_ref = data.bot.ref if data.bot else None
        previous_bot, adoption.bot_slug = adoption.bot_slug, bot_slug
        for slug in {previous_bot, bot_slug} - {None}:  # a bot's document lists the municipalities that run it
            mark_for_index(self.session, EntityKind.BOT, slug)  # type: ignore[arg-type]
        adoption.cases_per_year = data.cases_per_year
        adoption.minutes_per_case = to_decimal(data.minutes_per_case)
        adoption.automation_rate = to_decimal(data.automation_rate)
        adoption.notes = data.notes
        adoption.contact_name = data.contact.name.strip() if data.contact else None
        adoption.contact_email = data.contact.email if data.contact else None
        adoption.recorded_by, adoption.recorded_by_user_id = actor.name, actor.user_id
        adoption.updated_at = now
        await self.session.flush()
        mark_for_index(self.session, EntityKind.PROCESS, process_id)
        if created:
            await notify(self.session, adoption_event(process, municipality, actor))
        return adoption_read(adoption, process, municipality), created

    async def delete(self, actor: Actor, process_id: str, code: str) -> None:
        actor.require_writer()
        await ProcessService(self.session).get_model(actor, process_id)
        actor.require_write_for(code, f"the adoption of municipality {code}")
        result = await self.session.execute(
            delete(Adoption).where(Adoption.process_id == process_id, Adoption.municipality_code == code)
        )
        if getattr(result, "rowcount", 0) == 0:
            raise AdoptionMissing(f"Municipality {code} has no adoption of {process_id!r}.")
        mark_for_index(self.session, EntityKind.PROCESS, process_id)


# ---------------------------------------------------------------- benefits


def _two_decimals(value: float | None, field: str) -> Decimal | None:
    number = to_decimal(value)
    if number is not None and number != number.quantize(Decimal("0.01")):
        raise Invalid(f"{field}: at most 2 decimals, not {value}.", field=field)
    return number


def _period_order(text: str) -> tuple[int, int, int]:
    p = parse_period(text)
    return (p.year, p.first_month, -p.months)


READ_CHUNK = 500  # rows a report reads at a time (the server answers other requests in between)


def _benefits_chosen(f: BenefitFilters, table: type[Adoption] | type[BenefitRecord]) -> list[ColumnElement[bool]]:
    """The conditions of the benefit filters `f` on adoptions or benefit records (joined with their process)."""
    return chosen((table.process_id, f.process), (table.municipality_code, f.municipality), (Process.domain, f.domain))


class BenefitService:
    """Benefit records of adoptions. Reads need no rights beyond seeing the process; writes are the
    adopting municipality's (its editors) or an admin's, exactly like the adoption itself."""

    def __init__(self, session: AsyncSession, settings: BenefitSettings = DEFAULT_SETTINGS) -> None:
        self.session = session
        self.settings = settings

    # -------------------------------------------------------- one adoption

    async def adoption(self, actor: Actor, process_id: str, code: str) -> tuple[Adoption, Process, Municipality]:
        process = await ProcessService(self.session).get_model(actor, process_id)
        municipality = await MunicipalityService(self.session).get_model(code)
        adoption = await self.session.get(Adoption, (process_id, code))
        if adoption is None:
            raise AdoptionMissing(
                f"Municipality {code} has no adoption of {process_id!r}; register the adoption first."
            )
        return adoption, process, municipality

    def read(self, r: BenefitRecord, adoption: Adoption, process: Process, municipality: Municipality) -> BenefitRead:
        period = parse_period(r.period)
        minutes, source = effective_minutes(
            r.minutes_saved_per_case, adoption.minutes_per_case, process.minutes_per_case
        )
        hours = ZERO if minutes is None else realised_hours(r.cases_handled, minutes)
        cost = hourly_cost(municipality.hourly_cost_dkk, self.settings)
        saved = dkk_saved(hours, cost)
        return read_from(
            BenefitRead,
            r,
            **adoption_names(process, municipality),
            period_kind=period.kind,
            period_start=period.start,
            period_end=period.end,
            minutes_saved_per_case=to_float(minutes),
            minutes_saved_per_case_from=source,
            baseline_minutes=to_float(r.baseline_minutes),
            running_cost_dkk=to_float(r.running_cost_dkk),
            hourly_cost_dkk=float(cost),
            realised_hours=float(hours),
            hours_saved=float(hours),
            dkk_saved=float(saved),
            fte=float(fte(hours, self.settings.annual_hours)),
            net_dkk=float(net_dkk(saved, r.running_cost_dkk)),
        )

    async def list_for_adoption(self, actor: Actor, process_id: str, code: str) -> list[BenefitRead]:
        adoption, process, municipality = await self.adoption(actor, process_id, code)
        rows = (
            await self.session.scalars(
                select(BenefitRecord).where(
                    BenefitRecord.process_id == process_id, BenefitRecord.municipality_code == code
                )
            )
        ).all()
        rows = sorted(rows, key=lambda r: _period_order(r.period))
        return [self.read(r, adoption, process, municipality) for r in rows]

    async def _record(self, process_id: str, code: str, period: str) -> BenefitRecord | None:
        return await self.session.scalar(
            select(BenefitRecord).where(
                BenefitRecord.process_id == process_id,
                BenefitRecord.municipality_code == code,
                BenefitRecord.period == period,
            )
        )

    async def get(self, actor: Actor, process_id: str, code: str, period: str) -> BenefitRead:
        parse_period(period)
        adoption, process, municipality = await self.adoption(actor, process_id, code)
        record = await self._record(process_id, code, period)
        if record is None:
            raise NotFound(f"Municipality {code} has reported no benefits of {process_id!r} for {period}.")
        return self.read(record, adoption, process, municipality)

    async def put(
        self, actor: Actor, process_id: str, code: str, period: str, data: BenefitWrite
    ) -> tuple[BenefitRead, bool]:
        actor.require_writer()
        await ProcessService(self.session).get_model(actor, process_id)
        await MunicipalityService(self.session).get_model(code)
        actor.require_write_for(code, f"the benefits of municipality {code}")
        parse_period(period)
        adoption, process, municipality = await self.adoption(actor, process_id, code)
        minutes = _two_decimals(data.minutes_saved_per_case, "minutes_saved_per_case")
        baseline = _two_decimals(data.baseline_minutes, "baseline_minutes")
        running = _two_decimals(data.running_cost_dkk, "running_cost_dkk")
        used, _ = effective_minutes(minutes, adoption.minutes_per_case, process.minutes_per_case)
        if used is None:
            raise Invalid(
                "minutes_saved_per_case: give it; neither the adoption nor the process has minutes "
                "per case to use instead.",
                field="minutes_saved_per_case",
            )
        if baseline is not None and used > baseline:
            raise Invalid(
                f"minutes_saved_per_case: {used} minutes saved per case is more than the baseline of "
                f"{baseline} minutes.",
                field="minutes_saved_per_case",
            )
        record = await self._record(process_id, code, period)
        created = record is None
        now = utcnow()
        if record is None:
            record = BenefitRecord(process_id=process_id, municipality_code=code, period=period, created_at=now)
            self.session.add(record)
        record.cases_handled = data.cases_handled
        record.minutes_saved_per_case = minutes
        record.baseline_minutes = baseline
        record.running_cost_dkk = running
        record.budget_realised = data.budget_realised
        record.note = data.note.strip() or None if data.note is not None else None
        record.quality, record.work_environment = data.quality, data.work_environment
        record.citizen_experience = data.citizen_experience
        record.qualitative_note = (data.qualitative_note or "").strip() or None
        record.recorded_by, record.recorded_by_user_id = actor.name, actor.user_id
        record.source = "manual"
        record.updated_at = now
        # typed in by hand: a month's earlier choice of its run figures no longer stands
        rules = select(RunRule.id).where(RunRule.process_id == process_id, RunRule.municipality_code == code)
        await self.session.execute(
            update(RunMonth).where(RunMonth.rule_id.in_(rules), RunMonth.month == period).values(choice=None)
        )
        await self.session.flush()
        return self.read(record, adoption, process, municipality), created

    async def delete(self, actor: Actor, process_id: str, code: str, period: str) -> None:
        actor.require_writer()
        await ProcessService(self.session).get_model(actor, process_id)
        actor.require_write_for(code, f"the benefits of municipality {code}")
        parse_period(period)
        record = await self._record(process_id, code, period)
        if record is None:
            raise NotFound(f"Municipality {code} has reported no benefits of {process_id!r} for {period}.")
        await self.session.delete(record)
        await self.session.flush()

    # -------------------------------------------------------- the network

    def _adoptions(self, actor: Actor, f: BenefitFilters) -> Any:  # a Select of (Adoption, Process, Municipality)
        return visible_adoptions(actor).where(*_benefits_chosen(f, Adoption))

    async def selection(
        self, actor: Actor, f: BenefitFilters, *, with_reads: bool = True
    ) -> tuple[list[AdoptionFacts], list[RecordFacts], list[BenefitRead]]:
        """The adoptions and the benefit records a filter selects, as facts and (`with_reads`) as records to show."""
        first, last = period_range(f.first, f.last)
        facts: dict[tuple[str, str], AdoptionFacts] = {}
        loaded: dict[tuple[str, str], tuple[Adoption, Process, Municipality]] = {}
        # Read through a server-side cursor in chunks: between chunks the server answers other requests, so a
        # network-wide report over tens of thousands of adoptions never stalls it.
        adoption_rows = await self.session.stream(self._adoptions(actor, f).execution_options(yield_per=READ_CHUNK))
        async for part in adoption_rows.partitions(READ_CHUNK):
            for a, p, m in part:
                self._add_facts(facts, loaded, a, p, m)
        stmt = (
            select(BenefitRecord)
            .join(Process, Process.id == BenefitRecord.process_id)
            .where(visible_processes(actor), *_benefits_chosen(f, BenefitRecord))
        )
        rows: list[BenefitRecord] = []
        record_rows = await self.session.stream_scalars(stmt.execution_options(yield_per=READ_CHUNK))
        async for chunk in record_rows.partitions(READ_CHUNK):
            rows.extend(chunk)
        # the rest is work on what is loaded: in a worker thread
        records, shown = await asyncio.to_thread(self._records, rows, facts, loaded, first, last, with_reads)
        return list(facts.values()), records, shown

    def _records(
        self,
        rows: list[BenefitRecord],
        facts: dict[tuple[str, str], AdoptionFacts],
        loaded: dict[tuple[str, str], tuple[Adoption, Process, Municipality]],
        first: Any,
        last: Any,
        with_reads: bool,
    ) -> tuple[list[RecordFacts], list[BenefitRead]]:
        records: list[RecordFacts] = []
        shown: list[BenefitRead] = []
        for r in sorted(rows, key=lambda r: (r.process_id, r.municipality_code, _period_order(r.period))):
            key = (r.process_id, r.municipality_code)
            period = parse_period(r.period)
            if key not in facts or not period.within(first, last):
                continue
            a, p, _ = loaded[key]
            minutes, _ = effective_minutes(r.minutes_saved_per_case, a.minutes_per_case, p.minutes_per_case)
            records.append(
                RecordFacts(
                    adoption=facts[key],
                    period=period,
                    cases_handled=r.cases_handled,
                    minutes_saved_per_case=minutes,
                    running_cost_dkk=r.running_cost_dkk,
                    budget_realised=r.budget_realised,
                    qualitative=(r.quality, r.work_environment, r.citizen_experience),
                    source=r.source,
                )
            )
            if with_reads:
                shown.append(self.read(r, *loaded[key]))
        return records, shown

    def _add_facts(
        self,
        facts: dict[tuple[str, str], AdoptionFacts],
        loaded: dict[tuple[str, str], tuple[Adoption, Process, Municipality]],
        a: Adoption,
        p: Process,
        m: Municipality,
    ) -> None:
        facts[(a.process_id, a.municipality_code)] = AdoptionFacts(
            process=p.id,
            process_title=p.title,
            domain=p.domain,
            municipality=m.code,
            municipality_name=m.name,
            status=a.status,
            expected_hours_per_year=adoption_expected_hours(a, p),
            hourly_cost_dkk=hourly_cost(m.hourly_cost_dkk, self.settings),
            avoided_build_hours=avoided_build_hours(
                p.owner_municipality, m.code, a.bot_repo is not None, p.build_hours
            ),
        )
        loaded[(a.process_id, a.municipality_code)] = (a, p, m)

    async def summary(self, actor: Actor, group_by: str, f: BenefitFilters) -> BenefitSummary:
        if group_by not in GROUP_BYS:
            raise Invalid(f"group_by: one of {', '.join(GROUP_BYS)}.", field="group_by")
        adoptions, records, _ = await self.selection(actor, f, with_reads=False)
        return await asyncio.to_thread(self._summary, group_by, f, adoptions, records)

    async def report(self, actor: Actor, f: BenefitFilters) -> tuple[dict[str, BenefitSummary], list[BenefitRead]]:
        """Every grouping of one selection, and its records (for spreadsheets)."""
        adoptions, records, shown = await self.selection(actor, f)

        def every_grouping() -> dict[str, BenefitSummary]:  # CPU work over every record: in a worker thread
            return {g: self._summary(g, f, adoptions, records) for g in GROUP_BYS}

        return await asyncio.to_thread(every_grouping), shown

    def _summary(
        self, group_by: str, f: BenefitFilters, adoptions: Sequence[AdoptionFacts], records: Sequence[RecordFacts]
    ) -> BenefitSummary:
        rows, totals = summarise(adoptions, records, group_by, self.settings.annual_hours)
        return BenefitSummary(
            group_by=group_by,
            from_=f.first,
            to=f.last,
            settings=BenefitSettingsRead(
                hourly_cost_dkk=float(self.settings.hourly_cost_dkk), annual_hours=float(self.settings.annual_hours)
            ),
            rows=[row_read(group_by, key, a, fig) for key, a, fig in rows],
            totals=FiguresRead(**figures_read(totals)),
        )


def figures_read(f: Figures) -> dict[str, Any]:
    pct = f.realisation_pct
    return {
        "expected_hours": float(f.expected_hours),
        "realised_hours": float(f.realised_hours),
        "realised_hours_runs": float(f.realised_hours_runs),
        "realisation_pct": None if pct is None else float(pct),
        "expected_dkk": float(f.expected_dkk),
        "dkk_saved": float(f.dkk_saved),
        "running_cost_dkk": float(f.running_cost_dkk),
        "net_dkk": float(f.net_dkk),
        "budget_realised_dkk": float(f.budget_realised_dkk),
        "fte": float(f.fte),
        "adopters": f.adopters,
        "avoided_build_hours": float(f.avoided_build_hours),
        "records": f.records,
        "quality": to_float(f.quality),
        "work_environment": to_float(f.work_environment),
        "citizen_experience": to_float(f.citizen_experience),
    }


def row_read(group_by: str, key: Any, a: AdoptionFacts | None, f: Figures) -> BenefitRow:
    labels: dict[str, Any] = {}
    if group_by == "process":
        labels = {"process": key, "process_title": a.process_title if a else None}
    elif group_by == "municipality":
        labels = {"municipality": key, "municipality_name": a.municipality_name if a else None}
    elif group_by == "domain":
        labels = {"domain": key, "domain_label": DOMAINS.get(key, key)}
    elif group_by == "month":
        labels = {"month": key}
    else:
        labels = {"year": key}
    return BenefitRow(**labels, **figures_read(f))
