"""The catalogue's collator reads what it indexes with plain column selects, a chunk at a time: the documents are
the ones the ORM reading (`process_read`, the loaded rows) makes, for the rebuild and for the queue alike."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select

from catalogue import search_documents
from catalogue.demo import DEMO_ACTOR, load_demo
from catalogue.models import Adoption, Municipality, Process, ProcessDocument, ProcessTerm, Term
from catalogue.schemas import AdoptionWrite, ProcessCreate
from catalogue.search_documents import (
    EXTERNAL_BODIES,
    CatalogueCollator,
    IndexedProcess,
    document_document,
    indexed_processes,
    municipality_document,
    process_document,
)
from catalogue.services import AdoptionService, ProcessService, municipality_read, process_options, process_read
from core.actors import Actor
from core.db import create_engine, session_factories
from core.indexing import EntityKind
from search.documents import Document
from service.settings import Settings


async def _seed(settings: Settings) -> None:
    """The demo catalogue, with more of what a document is made of: drafts (one adopted), a rejected process
    with every optional field, tags, and documents visible to the network or to one municipality."""
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factories(engine)[1]() as session:
            await load_demo(session)
            editor = Actor(role="editor", name="redaktør", municipality="316")
            processes = ProcessService(session)
            draft = await processes.create(
                editor,
                ProcessCreate(
                    title="Kladde om lønrefusion",
                    summary="Hemmelig kladde",
                    domain="hr_og_loen",
                    phase="idea",
                    systems=["Opus", "KMD Løn", "eDoc"],
                    technologies=["UiPath"],
                    tags=["refusion", "løn"],
                    visibility="municipality",
                ),
            )
            rejected = await processes.create(
                DEMO_ACTOR,
                ProcessCreate(
                    title="Afvist proces med alt udfyldt",
                    summary="Alle felter",
                    description="## Baggrund\nTekst med **fed** skrift.",
                    domain="oekonomi",
                    phase="retired",
                    status="rejected",
                    kle="00.32.00",
                    legal_basis="Persondataloven § 6",
                    personal_data=True,
                    dpia_done=True,
                    systems=["SAP"],
                    tags=["afvist"],
                    owner_municipality="253",
                ),
            )
            adoptions = AdoptionService(session)
            for code in ("259", "316", "376"):
                await adoptions.put(DEMO_ACTOR, draft.id, code, AdoptionWrite(status="interested"))
            await adoptions.put(DEMO_ACTOR, rejected.id, "259", AdoptionWrite(status="operation"))
            common = {"content_type": "text/plain", "size": 1, "sha256": "0" * 64, "uploaded_by": "x", "content": b"x"}
            session.add_all(
                [
                    ProcessDocument(
                        process_id=rejected.id,
                        kind="process_design",
                        title="Design",
                        filename="design.docx",
                        text="Procesdesign for afviste sager",
                        **common,
                    ),
                    ProcessDocument(
                        process_id=rejected.id,
                        kind="other",
                        title="Egen note",
                        filename="note.txt",
                        text="Kun for os",
                        visibility="municipality",
                        municipality_code="259",
                        **common,
                    ),
                    ProcessDocument(
                        process_id=draft.id,
                        kind="unknown_kind",
                        title="Kladdens bilag",
                        filename="bilag.pdf",
                        text="Bilag til kladden",
                        **common,
                    ),
                ]
            )
            await session.commit()
    finally:
        await engine.dispose()


def _from_read(read: Any) -> IndexedProcess:
    return IndexedProcess(**{name: getattr(read, name) for name in IndexedProcess._fields})


async def test_the_collator_makes_the_documents_the_orm_reading_makes(settings: Settings, monkeypatch: Any) -> None:
    monkeypatch.setattr(search_documents, "CHUNK", 7)  # several chunks, one of them short
    await _seed(settings)
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factories(engine)[0]() as session:
            collator = CatalogueCollator()
            rebuilt = [d async for chunk in collator.all_documents(session) for d in chunk]

            names = {m.code: m.name for m in (await session.scalars(select(Municipality))).all()}
            processes = (await session.scalars(select(Process).options(*process_options()))).all()
            expected = [process_document(_from_read(process_read(p)), names) for p in processes]
            loaded = (await session.execute(select(ProcessDocument, Process).join(Process))).all()
            expected += [
                document_document(
                    SimpleNamespace(  # type: ignore[arg-type]
                        **{c: getattr(d, c) for c in ("id", "title", "kind", "filename", "text", "visibility")},
                        municipality_code=d.municipality_code,
                        process_title=p.title,
                        process_domain=p.domain,
                        process_owner=p.owner_municipality,
                        process_visibility=p.visibility,
                    )
                )
                for d, p in loaded
            ]
            municipalities = (await session.scalars(select(Municipality))).all()
            expected += [municipality_document(municipality_read(m)) for m in municipalities]

            assert len(rebuilt) == len({d.key for d in rebuilt}) == len(expected)
            assert sorted(rebuilt, key=_key) == sorted(expected, key=_key)
            kinds = {d.type for d in rebuilt}
            assert kinds == {"process", "document", "municipality"}
            drafts = [d for d in rebuilt if d.visibility != "network"]
            assert {d.type for d in drafts} == {"process", "document"}
            assert any(len(d.facets.get("municipality", [])) > 2 for d in rebuilt)  # adopted by several

            # the queue's path (documents by id) makes the same documents, and knows those that are gone
            for kind in collator.kinds:
                mine = [d for d in rebuilt if d.type == kind.value]
                docs, gone = await collator.documents(session, kind, [d.id for d in mine] + ["999999"])
                assert sorted(docs, key=_key) == sorted(mine, key=_key)
                assert gone == ["999999"]
            assert EntityKind.PROCESS in collator.kinds
    finally:
        await engine.dispose()


class _Racing:
    """A session in which a process (with a term and an adoption) is committed right after the first query, among
    the ids that query read: as each statement of a PostgreSQL transaction may see a commit made meanwhile."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.queries = 0
        self.newcomer = ""

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        result = await self.session.execute(statement, *args, **kwargs)
        self.queries += 1
        if self.queries == 1:
            rows = result.all()
            first = min(row[0] for row in rows)
            self.newcomer = first + "a"
            term = await self.session.scalar(select(Term.id).limit(1))
            self.session.add(
                Process(
                    id=self.newcomer,
                    title="Ny",
                    summary="Ny",
                    description="",
                    domain="oekonomi",
                    phase="idea",
                    status="active",
                    owner_municipality="253",
                    visibility="network",
                    version=1,
                )
            )
            await self.session.flush()
            self.session.add_all(
                [
                    ProcessTerm(process_id=self.newcomer, term_id=term, position=0),
                    Adoption(process_id=self.newcomer, municipality_code="259", status="interested"),
                ]
            )
            await self.session.flush()
            return SimpleNamespace(all=lambda: rows)  # the rows as first read
        return result


async def test_a_process_committed_during_a_chunk_is_left_to_the_queue(settings: Settings) -> None:
    await _seed(settings)
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factories(engine)[1]() as session:
            racing = _Racing(session)
            processes = await indexed_processes(racing, after="", limit=1000)  # type: ignore[arg-type]
            ids = [p.id for p in processes]
            assert racing.newcomer and racing.newcomer not in ids
            # it was among the chunk's ids, where the terms and adoptions were read
            between = Process.id.between(ids[0], ids[-1])
            assert await session.scalar(select(func.count()).where(between)) == len(ids) + 1
            expected = await indexed_processes(session, [i for i in ids])
            assert processes == expected
            await session.rollback()
    finally:
        await engine.dispose()


def _key(d: Document) -> str:
    return d.key


async def test_the_external_bodies_hold_the_process_documents_summaries_and_bodies(settings: Settings) -> None:
    """Where `EXTERNAL_BODIES` says a search backend finds a process document's summary and body (instead of a copy
    in the index): the columns of the process's row are exactly the collator's summary and body."""
    await _seed(settings)
    where = EXTERNAL_BODIES[EntityKind.PROCESS.value]
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factories(engine)[0]() as session:
            rebuilt = [d async for chunk in CatalogueCollator().all_documents(session) for d in chunk]
            table = Process.__table__
            rows = (
                await session.execute(select(table.c[where.key], table.c[where.summary], table.c[where.body]))
            ).all()
    finally:
        await engine.dispose()
    assert where.table == table.name
    processes = {d.id: (d.summary, d.body) for d in rebuilt if d.type == EntityKind.PROCESS.value}
    assert len(processes) > 5 and any("**" in body for _, body in processes.values())  # Markdown, as in the row
    assert {key: (summary, body) for key, summary, body in rows} == processes
