"""The catalogue's collator: processes and municipalities as search documents.

The search knows documents, not ORM models: this module is the one place where a catalogue row becomes what
the search indexes (as Backstage's collators do for its catalogue).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.documents import DOCUMENT_KINDS
from catalogue.models import Adoption, Municipality, Process, ProcessDocument, ProcessTerm, Term
from catalogue.schemas import MunicipalityRead
from catalogue.services import municipality_read
from catalogue.vocab import DOMAINS, PHASES, STATUSES
from core.indexing import EntityKind, gone, page_document
from search.documents import Document, ExternalBody, municipality_visibility

CHUNK = 500
# A process's document's summary and body are its summary and description, as they are in its row
# (`process_document`): a search backend in the same database reads them from there instead of keeping a copy
EXTERNAL_BODIES = {
    EntityKind.PROCESS.value: ExternalBody(
        Process.__tablename__,
        Process.__table__.c.id.name,
        Process.__table__.c.summary.name,
        Process.__table__.c.description.name,
    )
}


class IndexedProcess(NamedTuple):  # a tuple: made several times faster than a frozen dataclass
    """What a process's document is made of: the fields of its `ProcessRead` that the search shows or indexes,
    read with plain column selects (no ORM objects, no `process_read`: most of a read is not indexed)."""

    id: str
    title: str
    summary: str
    description: str
    domain: str
    phase: str
    status: str
    owner_municipality: str
    kle: str | None
    legal_basis: str | None
    personal_data: bool | None
    dpia_done: bool
    visibility: str
    systems: list[str]
    technologies: list[str]
    tags: list[str]
    adopted_by: list[str]  # sorted, as in ProcessRead


# The process's own columns of IndexedProcess, in its order (the rest come from process_terms and adoptions)
_PROCESS_COLUMNS = (
    Process.id,
    Process.title,
    Process.summary,
    Process.description,
    Process.domain,
    Process.phase,
    Process.status,
    Process.owner_municipality,
    Process.kle,
    Process.legal_basis,
    Process.personal_data,
    Process.dpia_done,
    Process.visibility,
)
_TERM_FIELDS = {"system": 0, "technology": 1, "tag": 2}  # Term.kind → its list in IndexedProcess


async def indexed_processes(
    session: AsyncSession, ids: Sequence[str] | None = None, *, after: str = "", limit: int = CHUNK
) -> list[IndexedProcess]:
    """The processes with these ids, or else the next `limit` after the id `after`, in id order: one query for
    them and one for each table that hangs off them, however many they are."""
    stmt = select(*_PROCESS_COLUMNS).order_by(Process.id)
    wanted = stmt.where(Process.id.in_(ids)) if ids is not None else stmt.where(Process.id > after).limit(limit)
    rows = (await session.execute(wanted)).all()
    if not rows:
        return []

    def theirs(process_id: Any) -> Any:  # the rows of these processes in a table that hangs off them
        if ids is not None:
            return process_id.in_(ids)
        return process_id.between(rows[0][0], rows[-1][0])  # every process in between is read: cheaper than a list

    links: dict[str, list[Any]] = {row[0]: [[], [], [], []] for row in rows}  # systems, technologies, tags, adopters
    terms = (
        select(ProcessTerm.process_id, Term.kind, Term.label)
        .join(Term, Term.id == ProcessTerm.term_id)
        .where(theirs(ProcessTerm.process_id))
        .order_by(ProcessTerm.position, ProcessTerm.term_id)  # as Process.term_links are ordered
    )
    # (a process committed in the range since the first query, which each query of a PostgreSQL transaction may
    # see, is not one of these: it is left to the next drain of the queue, which holds it)
    for process_id, kind, label in (await session.execute(terms)).all():
        field = _TERM_FIELDS.get(kind)
        if field is not None and process_id in links:
            links[process_id][field].append(label)
    adoptions = select(Adoption.process_id, Adoption.municipality_code).where(theirs(Adoption.process_id))
    for process_id, code in (await session.execute(adoptions)).all():
        if process_id in links:
            links[process_id][3].append(code)
    for lists in links.values():
        lists[3].sort()
    return [IndexedProcess(*row, *links[row[0]]) for row in rows]


def process_document(p: IndexedProcess, names: dict[str, str]) -> Document:
    owner = names.get(p.owner_municipality, p.owner_municipality)
    adopters = [names.get(code, code) for code in p.adopted_by]
    meta = [
        *p.systems,
        *p.technologies,
        *p.tags,
        DOMAINS[p.domain],
        PHASES[p.phase],
        STATUSES[p.status],
        owner,
        *adopters,
        p.kle or "",
        p.legal_basis or "",
    ]
    if p.personal_data:
        meta.append("personoplysninger")
    if p.dpia_done:
        meta.append("DPIA konsekvensanalyse")
    boost = 1.0
    if p.status in ("rejected", "duplicate"):
        boost = 0.5
    elif p.phase == "retired" or p.status == "on_hold":
        boost = 0.8
    return page_document(
        EntityKind.PROCESS,
        p.id,
        p.title,
        summary=p.summary,
        body=p.description,
        meta=" · ".join(m for m in meta if m),
        facets={
            "domain": [p.domain],
            "phase": [p.phase],
            "status": [p.status],
            "system": p.systems,
            "technology": p.technologies,
            "municipality": [p.owner_municipality, *p.adopted_by],
        },
        visibility="network" if p.visibility == "network" else municipality_visibility(p.owner_municipality),
        boost=boost,
    )


def municipality_document(m: MunicipalityRead) -> Document:
    facts = [f"Kommunekode {m.code}"]
    if m.cvr:
        facts.append(f"CVR {m.cvr}")
    if m.population:
        facts.append(f"{m.population:,} indbyggere".replace(",", "."))
    facts.append("medlem af netværket" if m.is_member else "tidligere medlem")
    return page_document(
        EntityKind.MUNICIPALITY,
        m.code,
        m.name,
        summary=" · ".join(facts),
        meta=" ".join([m.name, *m.aliases, m.code, m.cvr or ""]),
        facets={"municipality": [m.code]},
    )


# What a process's document's search document is made of (its process's title, domain, owner and visibility)
_DOCUMENT_COLUMNS = (
    ProcessDocument.id,
    ProcessDocument.title,
    ProcessDocument.kind,
    ProcessDocument.filename,
    ProcessDocument.text,
    ProcessDocument.visibility,
    ProcessDocument.municipality_code,
    Process.title.label("process_title"),
    Process.domain.label("process_domain"),
    Process.owner_municipality.label("process_owner"),
    Process.visibility.label("process_visibility"),
)


def document_document(d: Any) -> Document:
    """A process's document (a row of `_DOCUMENT_COLUMNS`): its extracted text, found by search; visible as the
    document and its process are."""
    if d.visibility == "network" and d.process_visibility == "network":
        visibility = "network"
    else:
        visibility = municipality_visibility(d.municipality_code or d.process_owner)
    return Document(
        type=EntityKind.DOCUMENT.value,
        id=str(d.id),
        title=d.title,
        url=f"/api/documents/{d.id}",
        summary=f"{DOCUMENT_KINDS.get(d.kind, d.kind)} · {d.process_title} · {d.filename}",
        body=d.text,
        meta=" · ".join([d.process_title, DOCUMENT_KINDS.get(d.kind, d.kind), d.filename]),
        facets={"domain": [d.process_domain], "municipality": [d.municipality_code or d.process_owner]},
        visibility=visibility,
        boost=0.9,
    )


async def _documents(session: AsyncSession, where: Any, limit: int | None = None) -> list[Document]:
    stmt = select(*_DOCUMENT_COLUMNS).join(Process).where(where).order_by(ProcessDocument.id).limit(limit)
    return [document_document(d) for d in (await session.execute(stmt)).all()]


async def _names(session: AsyncSession) -> dict[str, str]:
    rows = (await session.execute(select(Municipality.code, Municipality.name))).all()
    return {code: name for code, name in rows}


class CatalogueCollator:
    """Documents of the catalogue's kinds: processes and municipalities."""

    kinds: tuple[EntityKind, ...] = (EntityKind.PROCESS, EntityKind.MUNICIPALITY, EntityKind.DOCUMENT)

    async def documents(
        self, session: AsyncSession, kind: EntityKind, ids: Sequence[str]
    ) -> tuple[list[Document], list[str]]:
        """(documents of these entities, ids of those that are gone and must leave the index)."""
        if kind is EntityKind.PROCESS:
            names = await _names(session)
            docs = [process_document(p, names) for p in await indexed_processes(session, ids)]
        elif kind is EntityKind.DOCUMENT:
            wanted = [int(i) for i in ids if i.isdigit()]
            docs = await _documents(session, ProcessDocument.id.in_(wanted))
        else:
            municipalities = (await session.scalars(select(Municipality).where(Municipality.code.in_(ids)))).all()
            docs = [municipality_document(municipality_read(m)) for m in municipalities]
        return docs, gone(ids, (d.id for d in docs))

    async def all_documents(self, session: AsyncSession) -> AsyncIterator[list[Document]]:
        """Every document of the catalogue, in chunks (never the whole catalogue in memory)."""
        names = await _names(session)
        municipalities = (await session.scalars(select(Municipality).order_by(Municipality.code))).all()
        yield [municipality_document(municipality_read(m)) for m in municipalities]
        last_document = 0
        while True:
            chunk = await _documents(session, ProcessDocument.id > last_document, CHUNK)
            if not chunk:
                break
            yield chunk
            last_document = int(chunk[-1].id)
        last = ""
        while processes := await indexed_processes(session, after=last, limit=CHUNK):
            yield [process_document(p, names) for p in processes]
            last = processes[-1].id
