"""service.indexing: a failing search index keeps the database write, shows on health and is drained later."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, process_body
from tests.service.controllers.test_search import PID, hit_ids, search


async def test_an_index_failure_keeps_the_write_and_shows_on_health(api: Api) -> None:
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
