"""The catalogue's collator: processes and municipalities as search documents.

The search knows documents, not ORM models: this module is the one place where a catalogue row becomes what
the search indexes (as Backstage's collators do for its catalogue).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.documents import DOCUMENT_KINDS
from catalogue.models import Municipality, Process, ProcessDocument
from catalogue.schemas import MunicipalityRead, ProcessRead
from catalogue.services import municipality_read, process_options, process_read
from catalogue.vocab import DOMAINS, PHASES, STATUSES
from core.indexing import EntityKind, gone, page_document
from search.documents import Document, municipality_visibility

CHUNK = 500


def process_document(p: ProcessRead, names: dict[str, str]) -> Document:
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


def document_document(d: ProcessDocument, process: Process) -> Document:
    """A process's document: its extracted text, found by search; visible as the document and its process are."""
    if d.visibility == "network" and process.visibility == "network":
        visibility = "network"
    else:
        visibility = municipality_visibility(d.municipality_code or process.owner_municipality)
    return Document(
        type=EntityKind.DOCUMENT.value,
        id=str(d.id),
        title=d.title,
        url=f"/api/documents/{d.id}",
        summary=f"{DOCUMENT_KINDS.get(d.kind, d.kind)} · {process.title} · {d.filename}",
        body=d.text,
        meta=" · ".join([process.title, DOCUMENT_KINDS.get(d.kind, d.kind), d.filename]),
        facets={"domain": [process.domain], "municipality": [d.municipality_code or process.owner_municipality]},
        visibility=visibility,
        boost=0.9,
    )


async def _documents(session: AsyncSession, where: Any, limit: int | None = None) -> list[Document]:
    stmt = select(ProcessDocument, Process).join(Process).where(where).order_by(ProcessDocument.id).limit(limit)
    rows = (await session.execute(stmt)).all()
    return [document_document(d, p) for d, p in rows]


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
            processes = (
                await session.scalars(select(Process).where(Process.id.in_(ids)).options(*process_options()))
            ).all()
            names = await _names(session)
            docs = [process_document(process_read(p), names) for p in processes]
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
        while True:
            stmt = select(Process).where(Process.id > last).order_by(Process.id).limit(CHUNK)
            rows = (await session.scalars(stmt.options(*process_options()))).all()
            if not rows:
                return
            yield [process_document(process_read(p), names) for p in rows]
            last = rows[-1].id
            session.expunge_all()  # keep the session's identity map from growing with the catalogue
