"""Migrations upgrade an empty database on SQLite and PostgreSQL, and agree with the models."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from core.db import create_engine
from service.db import alembic_config, current_revision, metadata, owned_by_migrations, upgrade


def downgrade_to(sync_conn: Any, database_url: str, revision: str) -> None:
    """Bring a migrated database back to `revision` on this connection (as a catalogue written before it)."""
    cfg = alembic_config(database_url)
    cfg.attributes["connection"] = sync_conn
    command.downgrade(cfg, revision)


async def test_upgrade_from_empty_and_no_drift(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)  # already at head: running again is harmless
        head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
        assert await current_revision(engine) == head

        def diff(sync_conn: Any) -> list[Any]:
            return compare_metadata(
                MigrationContext.configure(sync_conn, opts={"compare_type": True, "include_name": owned_by_migrations}),
                metadata(),
            )

        async with engine.connect() as conn:
            differences = await conn.run_sync(diff)
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert differences == [], differences
        assert {"municipalities", "processes", "adoptions", "process_revisions", "terms", "api_tokens"} <= tables
    finally:
        await engine.dispose()


async def test_a_new_sqlite_file_is_created_and_migrated(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'new.sqlite3'}")
    try:
        await upgrade(engine)
        assert await current_revision(engine) is not None
    finally:
        await engine.dispose()


async def test_0016_counts_the_links_there_are_and_then_every_change(database_url: str) -> None:
    """Upgrading to 0016 writes each term's number of links once; from then on the trigger writes each link
    added or removed (a process deleted takes its links with it), and a fold adds them up to the same counts."""
    from sqlalchemy import delete, func, select

    from catalogue.demo import load_demo
    from catalogue.models import Process, ProcessTerm, Term, TermUseChange
    from catalogue.services import fold_kept_counts
    from core.db import session_factories

    engine = create_engine(database_url)
    _, writes = session_factories(engine)

    async def kept_and_counted() -> tuple[dict[int, int], dict[int, int]]:
        async with writes() as session:
            assert await fold_kept_counts(session) in (True, False)
            await session.commit()
            kept = {i: n for i, n in (await session.execute(select(Term.id, Term.uses))).all() if n}
            counted = select(ProcessTerm.term_id, func.count()).group_by(ProcessTerm.term_id)
            return kept, {i: n for i, n in (await session.execute(counted)).all()}

    try:
        async with writes() as session:
            await load_demo(session)
            await session.commit()
        async with engine.begin() as conn:  # as a catalogue written before 0016: no counts, no trigger
            await conn.run_sync(downgrade_to, database_url, "0015")
        await upgrade(engine)
        async with writes() as session:
            assert await session.scalar(select(func.count()).select_from(TermUseChange)) == 0  # counted, not logged
        kept, counted = await kept_and_counted()
        assert kept == counted and sum(counted.values()) > 20
        async with writes() as session:
            victim = await session.scalar(select(Process.id).join(ProcessTerm).limit(1))
            await session.execute(delete(Process).where(Process.id == victim))  # its links go by the cascade
            moved = (await session.execute(select(ProcessTerm.process_id, ProcessTerm.term_id).limit(1))).one()
            new_term = Term(kind="tag", key="flyttet", label="Flyttet")
            session.add(new_term)
            await session.flush()
            await session.execute(  # one link moved to another term (no code does; the trigger counts it anyway)
                ProcessTerm.__table__.update()
                .where(ProcessTerm.process_id == moved.process_id, ProcessTerm.term_id == moved.term_id)
                .values(term_id=new_term.id)
            )
            await session.commit()
        kept, counted = await kept_and_counted()
        assert kept == counted and counted[new_term.id] == 1
    finally:
        await engine.dispose()


async def test_0017_counts_the_drafts_links_and_the_processes_then_every_change(database_url: str) -> None:
    """Upgrading to 0017 writes the drafts' term links (by owner) and the processes (the network's, each
    municipality's drafts) once; from then on the triggers write every change that moves them: a process made a
    draft or published, a draft given to another municipality, links added, moved and removed, a draft deleted
    with its links; and a fold adds them up to the same counts."""
    from sqlalchemy import case, delete, func, select, update

    from catalogue.demo import load_demo
    from catalogue.models import Process, ProcessCount, ProcessTerm, Term, TermDraftUse
    from catalogue.services import fold_kept_counts
    from core.db import session_factories

    engine = create_engine(database_url)
    _, writes = session_factories(engine)
    draft_owner = case((Process.visibility == "municipality", Process.owner_municipality), else_="")

    async def kept_and_counted() -> tuple[list[dict[Any, int]], list[dict[Any, int]]]:
        async with writes() as session:
            assert await fold_kept_counts(session) in (True, False)
            await session.commit()
            kept = [
                {i: n for i, n in (await session.execute(select(Term.id, Term.uses))).all() if n},
                {
                    (i, o): n
                    for i, o, n in (
                        await session.execute(select(TermDraftUse.term_id, TermDraftUse.draft_owner, TermDraftUse.uses))
                    ).all()
                    if n
                },
                {o: n for o, n in (await session.execute(select(ProcessCount.draft_owner, ProcessCount.processes)))},
            ]
            links = select(ProcessTerm.term_id, func.count()).group_by(ProcessTerm.term_id)
            draft_links = (
                select(ProcessTerm.term_id, Process.owner_municipality, func.count())
                .join(Process, Process.id == ProcessTerm.process_id)
                .where(Process.visibility == "municipality")
                .group_by(ProcessTerm.term_id, Process.owner_municipality)
            )
            processes = select(draft_owner, func.count()).group_by(draft_owner)
            counted = [
                {i: n for i, n in (await session.execute(links)).all()},
                {(i, o): n for i, o, n in (await session.execute(draft_links)).all()},
                {o: n for o, n in (await session.execute(processes)).all()},
            ]
            kept[2] = {o: n for o, n in kept[2].items() if n}
            return kept, counted

    try:
        async with writes() as session:
            await load_demo(session)
            await session.commit()
            ids = list((await session.scalars(select(Process.id).join(ProcessTerm).distinct())).all())
            await session.execute(
                update(Process).where(Process.id.in_(ids[:3])).values(visibility="municipality")  # three drafts
            )
            await session.commit()
        async with engine.begin() as conn:  # as a catalogue written before 0017
            await conn.run_sync(downgrade_to, database_url, "0016")
        await upgrade(engine)
        kept, counted = await kept_and_counted()
        assert kept == counted and len(counted[1]) >= 3 and sum(counted[2].values()) > 5
        async with writes() as session:
            published, moved, deleted, made = ids[0], ids[1], ids[2], ids[3]
            await session.execute(update(Process).where(Process.id == published).values(visibility="network"))
            await session.execute(update(Process).where(Process.id == made).values(visibility="municipality"))
            owner = await session.scalar(select(Process.owner_municipality).where(Process.id == moved))
            other = "376" if owner != "376" else "253"
            await session.execute(update(Process).where(Process.id == moved).values(owner_municipality=other))
            term = Term(kind="tag", key="kladdeord", label="Kladdeord")
            session.add(term)
            await session.flush()
            session.add(ProcessTerm(process_id=made, term_id=term.id, position=9))  # a link added to a draft
            await session.flush()
            link = await session.scalar(select(ProcessTerm.term_id).where(ProcessTerm.process_id == moved).limit(1))
            await session.execute(  # a draft's link moved to another term
                update(ProcessTerm)
                .where(ProcessTerm.process_id == moved, ProcessTerm.term_id == link)
                .values(term_id=term.id)
            )
            await session.execute(delete(Process).where(Process.id == deleted))  # its links go by the cascade
            await session.commit()
        kept, counted = await kept_and_counted()
        assert kept == counted
        assert counted[1][(term.id, other)] == 1 and counted[2][other] >= 1
    finally:
        await engine.dispose()
