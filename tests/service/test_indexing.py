"""service.indexing: a failing search index never loses a write nor leaves a stale document. With an index
outside the database (FTS5, Meilisearch) the write stands, the change stays queued, shows on health and is drained
later; with the index in the database (PostgreSQL) the write and its index entries commit together or not at
all (503, retry)."""

from __future__ import annotations

import asyncio
from typing import Any

from catalogue.models import Municipality
from core.db import create_engine, session_factories
from service.indexing import Indexer, start_indexing
from service.settings import Settings
from tests.conftest import Api, process_body
from tests.service.controllers.test_search import PID, hit_ids, search


async def test_an_index_failure_keeps_the_write_and_shows_on_health(api: Api) -> None:
    if api.client.app.state.indexer.transactional:
        return await _transactional_index_failure(api)
    backend = api.client.app.state.indexer.backend
    real_upsert = backend.upsert

    def broken(_: Any) -> None:
        raise RuntimeError("index disk full")

    backend.upsert = broken
    try:
        r = await api.post("/api/processes", process_body(), who="editor_253")
        assert r.status_code == 201  # the database write stands
        assert (await api.get(f"/api/processes/{PID}")).status_code == 200
        health = (await api.get("/api/health")).json()
        assert health["status"] == "degraded"
        assert health["search"]["pending"] >= 1 and health["search"]["failing"] >= 1
        assert "index disk full" in health["search"]["last_error"]
    finally:
        backend.upsert = real_upsert
    # the next write drains the queue, the failed entry included
    await api.put(f"/api/processes/{PID}/adoptions/253", {"status": "operation"}, who="editor_253")
    assert hit_ids(await search(api, "straffeattester")) == [PID]
    health = (await api.get("/api/health")).json()
    assert health["status"] == "ok" and health["search"]["pending"] == 0


async def _transactional_index_failure(api: Api) -> None:
    backend = api.client.app.state.indexer.backend
    real_apply = backend.apply

    async def broken(*_: Any) -> None:
        raise RuntimeError("index table locked")

    backend.apply = broken
    try:
        r = await api.post("/api/processes", process_body(), who="editor_253")
        assert r.status_code == 503  # nothing half-written: no process without its index entry
        assert r.headers["Retry-After"]
        assert (await api.get(f"/api/processes/{PID}")).status_code == 404
    finally:
        backend.apply = real_apply
    r = await api.post("/api/processes", process_body(), who="editor_253")  # the retry
    assert r.status_code == 201
    assert hit_ids(await search(api, "straffeattester")) == [PID]
    health = (await api.get("/api/health")).json()
    assert health["status"] == "ok" and health["search"]["pending"] == 0


async def test_workers_starting_together_build_an_empty_index_once(settings: Settings) -> None:
    """Every worker of `rpabank serve --workers N` checks the index at start; over a catalogue with data and an
    empty index, one builds it and the others find it built (not a second rebuild each)."""
    engine = create_engine(settings.effective_database_url)
    reads, writes = session_factories(engine)
    async with writes() as session:
        session.add(Municipality(code="253", name="Greve"))
        await session.commit()
    backends = [settings.open_search(), settings.open_search()]
    rebuilds: list[int] = []
    try:
        workers = [Indexer(b, reads, writes, settings.codebank(), lock_dir=settings.data_dir) for b in backends]
        for worker in workers:
            rebuild = worker.rebuild

            async def counted(rebuild: Any = rebuild) -> int:
                count: int = await rebuild()
                rebuilds.append(count)
                return count

            worker.rebuild = counted  # type: ignore[method-assign]
        await asyncio.gather(*(start_indexing(w) for w in workers))
        assert rebuilds == [1]  # one document: the municipality
        assert [w.last_error for w in workers] == [None, None]
        assert [await asyncio.to_thread(b.count) for b in backends] == [1, 1]
    finally:
        for b in backends:
            b.close()
        await engine.dispose()
