"""Keeping the search index true to the database: the queue drainer and the rebuild.

Every change queues its entities in `index_queue` inside the same transaction (`core.indexing`). A backend
that lives in the database (PostgreSQL) indexes them before that transaction commits, so no instance ever sees
a stale or leaked document; for the others the request drains the queue after the commit (so a client that
writes and then searches finds its change). What fails stays queued, is retried in the background and is
reported on /api/health: the database write is never lost to an indexing failure.

The drainer knows entity kinds, not domains: each domain's collator (`<domain>/search_documents.py`) turns its
rows into documents. Drains are serialised across instances (a PostgreSQL advisory lock, or a file lock in the
data folder on SQLite) and claim their rows, so each queued change is indexed once and in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalogue.models import Municipality
from catalogue.search_documents import CatalogueCollator
from codebank.search_documents import CodebankCollator
from codebank.services import CodebankConfig
from core.actors import Actor
from core.db import utcnow
from core.indexing import Collator, EntityKind, IndexQueue
from core.streaming import blocking_iter
from search.backends.base import SearchBackend, SearchError
from search.documents import Document, SearchQuery, SearchResult, Viewer

log = logging.getLogger("rpabank.indexing")
DRAIN_BATCH = 500
DRAIN_LOCK_KEY = 0x5270_4162  # PostgreSQL advisory lock key of the index drainer ("RpAb")
START_LOCK_KEY = 0x5270_4163  # ... and of the start-up check for an empty index
# Kinds whose documents come from the database alone; a backend in the database indexes them in the writing
# transaction. Bots (their README) and code files are read from git mirrors, which are moved into place only
# after the commit: they always go through the queue.
TRANSACTIONAL_KINDS = frozenset(
    {EntityKind.PROCESS, EntityKind.MUNICIPALITY, EntityKind.PRINCIPLE, EntityKind.DOCUMENT}
)


def collators(codebank: CodebankConfig | None) -> list[Collator]:
    """Every domain's collator (the table of contents of what is searchable)."""
    return [CatalogueCollator(), CodebankCollator(codebank)]


# ---------------------------------------------------------------- the indexer


class Indexer:
    """Drains the index queue into a search backend; rebuilds; reports its state."""

    def __init__(
        self,
        backend: SearchBackend,
        sessions: async_sessionmaker[AsyncSession],
        write_sessions: async_sessionmaker[AsyncSession] | None = None,
        codebank: CodebankConfig | None = None,
        *,
        lock_dir: Path | None = None,
    ) -> None:
        self.backend = backend
        self.sessions = sessions
        self.write_sessions = write_sessions or sessions
        self.by_kind: dict[EntityKind, Collator] = {k: c for c in collators(codebank) for k in c.kinds}
        self.lock_dir = lock_dir
        self._lock = asyncio.Lock()
        self.last_error: str | None = None

    @property
    def transactional(self) -> bool:
        """Whether the backend indexes inside the database transaction of a write."""
        return callable(getattr(self.backend, "apply", None))

    async def documents(
        self, session: AsyncSession, marks: Sequence[tuple[str, str]]
    ) -> tuple[list[Document], list[tuple[str, str]]]:
        """(documents to upsert, (type, id) keys to delete) for these queued (entity, id) pairs."""
        wanted: dict[EntityKind, list[str]] = {}
        for entity, entity_id in marks:
            try:
                kind = EntityKind(entity)
            except ValueError:  # a kind this version no longer has
                continue
            ids = wanted.setdefault(kind, [])
            if entity_id not in ids:
                ids.append(entity_id)
        upserts: list[Document] = []
        deletes: list[tuple[str, str]] = []
        for kind, ids in wanted.items():
            docs, gone = await self.by_kind[kind].documents(session, kind, ids)
            upserts.extend(docs)
            deletes.extend((kind.value, i) for i in gone)
        return upserts, deletes

    async def index_before_commit(self, session: AsyncSession) -> None:
        """With a backend in the database: index this transaction's changes in it, before it commits.

        The queue rows of what was indexed here are removed in the same transaction; code files stay queued.
        """
        rows: list[IndexQueue] = session.info.pop("index_rows", [])
        if not self.transactional or not rows:
            return
        mine = [r for r in rows if r.entity in TRANSACTIONAL_KINDS]
        if not mine:
            return
        await session.flush()
        upserts, deletes = await self.documents(session, [(r.entity, r.entity_id) for r in mine])
        try:
            await self.backend.apply(await session.connection(), upserts, deletes)  # type: ignore[attr-defined]
        except (SearchError, DBAPIError):  # the database itself is mapped by the service (busy → 503, clash → 409)
            raise
        except Exception as exc:  # the write does not commit without its index entries: retry later
            raise SearchError(f"indexing failed: {type(exc).__name__}: {exc}") from exc
        await session.execute(delete(IndexQueue).where(IndexQueue.id.in_([r.id for r in mine])))
        if len(mine) == len(rows):
            session.info.pop("index_dirty", None)

    @contextlib.asynccontextmanager
    async def exclusive(self, session: AsyncSession, key: int, name: str) -> AsyncIterator[None]:
        """One holder at a time across instances and workers: the advisory lock `key` (for the transaction of
        `session`) on PostgreSQL, the file lock `name` in the data folder on SQLite."""
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            yield
            return
        if self.lock_dir is None:
            yield
            return
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        handle = (self.lock_dir / name).open("a")
        try:
            await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
            yield
        finally:
            handle.close()  # releases the lock

    async def drain(self) -> int:
        """Index what is queued. Returns how many queue entries were done; failures stay queued."""
        async with self._lock:
            done = 0
            while True:
                async with (
                    self.write_sessions() as session,
                    self.exclusive(session, DRAIN_LOCK_KEY, "index-drain.lock"),
                ):
                    claim = select(IndexQueue.id, IndexQueue.entity, IndexQueue.entity_id).order_by(IndexQueue.id)
                    if session.get_bind().dialect.name == "postgresql":
                        claim = claim.with_for_update(skip_locked=True)
                    rows = (await session.execute(claim.limit(DRAIN_BATCH))).all()
                    if not rows:
                        return done
                    queue_ids = [r[0] for r in rows]
                    try:
                        upserts, deletes = await self.documents(session, [(r[1], r[2]) for r in rows])
                        if upserts:
                            await asyncio.to_thread(self.backend.upsert, upserts)
                        if deletes:
                            await asyncio.to_thread(self.backend.delete, deletes)
                    except Exception as exc:
                        self.last_error = f"{utcnow().isoformat(timespec='seconds')} {type(exc).__name__}: {exc}"
                        log.warning("search indexing failed, will retry: %s", exc)
                        await session.execute(
                            update(IndexQueue)
                            .where(IndexQueue.id.in_(queue_ids))
                            .values(attempts=IndexQueue.attempts + 1, last_error=str(exc)[:2000])
                        )
                        await session.commit()
                        return done
                    await session.execute(delete(IndexQueue).where(IndexQueue.id.in_(queue_ids)))
                    await session.commit()
                self.last_error = None
                done += len(queue_ids)

    async def _all_chunks(self, session: AsyncSession) -> AsyncIterator[list[Document]]:
        seen: set[int] = set()
        for collator in self.by_kind.values():
            if id(collator) in seen:
                continue
            seen.add(id(collator))
            async for chunk in collator.all_documents(session):
                yield chunk

    async def rebuild(self) -> int:
        """Make the whole index anew from the database and swap it in; the queue up to now is done.

        Documents stream from the database to the backend in chunks: the corpus is never held in memory.
        """
        async with self._lock:
            async with self.sessions() as session:
                # exactly the queue rows committed before the documents are read: a change committed later
                # (even one with a lower id, as sequences may commit out of order) stays queued and is drained
                done = list((await session.scalars(select(IndexQueue.id))).all())
                chunks = self._all_chunks(session)
                loop = asyncio.get_running_loop()
                count = await asyncio.to_thread(self.backend.rebuild, blocking_iter(chunks, loop))
            async with self.write_sessions() as session:
                for start in range(0, len(done), DRAIN_BATCH):
                    await session.execute(
                        delete(IndexQueue).where(IndexQueue.id.in_(done[start : start + DRAIN_BATCH]))
                    )
                await session.commit()
            self.last_error = None
            return count

    async def pending(self) -> dict[str, Any]:
        async with self.sessions() as session:
            count, failing, oldest = (
                await session.execute(
                    select(
                        func.count(IndexQueue.id), func.count(IndexQueue.last_error), func.min(IndexQueue.enqueued_at)
                    )
                )
            ).one()
        return {
            "pending": int(count),
            "failing": int(failing),
            "oldest_pending": oldest.isoformat() if oldest else None,
        }

    async def backend_health(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.backend.health)

    async def health(self) -> dict[str, Any]:
        info = await self.backend_health()
        info.update(await self.pending())
        if self.last_error:
            info["last_error"] = self.last_error
        return info

    async def search(self, query: SearchQuery) -> SearchResult:
        return await asyncio.to_thread(self.backend.search, query)

    async def run_retries(self, interval: float) -> None:
        """Background loop: retry what is queued (failed or left by another worker)."""
        while True:
            await asyncio.sleep(interval)
            try:
                if (await self.pending())["pending"]:
                    await self.drain()
            except Exception as exc:  # keep the loop alive; health shows the error
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("search retry loop: %s", exc)


def viewer_for(actor: Actor) -> Viewer:
    return Viewer(municipality=actor.municipality, is_admin=actor.is_admin)


async def start_indexing(indexer: Indexer) -> None:
    """At start-up: an empty index over a catalogue with data is built; otherwise the queue is drained.

    Instances and workers starting together check one at a time (`START_LOCK_KEY`), so the index is built once:
    the next finds it built. A search engine that does not answer does not stop the app: health shows it and
    retries continue.
    """
    try:
        async with indexer.sessions() as session, indexer.exclusive(session, START_LOCK_KEY, "index-start.lock"):
            if await asyncio.to_thread(indexer.backend.count) == 0 and await session.scalar(
                select(func.count()).select_from(Municipality)
            ):
                await indexer.rebuild()
                return
        await indexer.drain()
    except Exception as exc:
        indexer.last_error = f"{type(exc).__name__}: {exc}"
        log.warning("search index not ready at start-up: %s", exc)


async def search_process_ids(
    indexer: Indexer, actor: Actor, filters: Any, text: str, limit: int, offset: int
) -> tuple[int, bool, list[str]]:
    """(total, whether it is an estimate, ids of one page) of processes matching `text` and the list filters, best
    first."""
    wanted = {"type": "process"}
    for name in ("domain", "phase", "status", "system", "technology", "municipality"):
        value = getattr(filters, name)
        if value:
            wanted[name] = value
    result = await indexer.search(
        SearchQuery(text=text, filters=wanted, viewer=viewer_for(actor), limit=limit, offset=offset)
    )
    return result.total, result.total_approximate, [h.id for h in result.hits]
