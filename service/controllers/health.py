from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State
from sqlalchemy import text

from service import __version__
from service.deps import IndexerDep


class HealthController(Controller):
    path = "/api/health"
    tags = ["health"]

    @get("/", summary="Is the service up; do the database and the search index answer?")
    async def health(self, indexer: IndexerDep, state: State) -> Response[dict[str, Any]]:
        engine = state.engine
        database: dict[str, Any] = {"backend": engine.dialect.name}
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            database["ok"] = True
        except Exception as exc:  # the health check reports, it does not fail
            database["ok"] = False
            database["error"] = type(exc).__name__
        try:
            search = await indexer.health() if database["ok"] else await indexer.backend_health()
        except Exception as exc:  # the health check reports, it does not fail
            search = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        healthy = database["ok"] and search.get("ok", False) and not search.get("failing")
        body = {
            "status": "ok" if healthy else "degraded",
            "version": __version__,
            "database": database,
            "search": search,
        }
        # A lagging search index degrades the service but does not take it out of a load balancer.
        return Response(body, status_code=200 if database["ok"] else 503)
