"""Health: `/api/health/live` (the process answers), `/api/health/ready` (it can serve: the database answers,
the search answers a real query, the schema is the code's), and `/api/health`, the detailed view."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable
from typing import Any

from alembic.script import ScriptDirectory
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from search.documents import SearchQuery
from service import __version__
from service.db import MIGRATIONS, current_revision
from service.indexing import Indexer

CHECK_TIMEOUT = 5.0  # seconds for each readiness check
RETRY_AFTER = "10"


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the Alembic scripts shipped with this code."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


async def _check(work: Awaitable[str | None]) -> dict[str, Any]:
    """Run one check: {"ok": True} or {"ok": False, "reason": ...}; a check that takes too long fails."""
    try:
        problem = await asyncio.wait_for(work, CHECK_TIMEOUT)
    except TimeoutError:
        return {"ok": False, "reason": f"no answer within {CHECK_TIMEOUT:g} s"}
    except Exception as exc:  # a check reports, it does not fail
        return {"ok": False, "reason": f"{type(exc).__name__}: {exc}"[:500]}
    return {"ok": True} if problem is None else {"ok": False, "reason": problem}


async def _database(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return None


async def _search(indexer: Indexer) -> str | None:
    await indexer.search(SearchQuery(text="robot", limit=1))
    return None


async def _migrations(engine: AsyncEngine) -> str | None:
    current, head = await current_revision(engine), head_revision()
    if current != head:
        return f"the database schema is at {current or 'no revision'}, this code expects {head}"
    return None


class HealthController(Controller):
    path = "/api/health"
    tags = ["health"]

    @get("/live", summary="Liveness: the process answers")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="Readiness: the database, the search and the schema are ready (else 503)")
    async def ready(self, indexer: NamedDependency[Indexer], state: State) -> Response[dict[str, Any]]:
        engine: AsyncEngine = state.engine
        database, search, migrations = await asyncio.gather(
            _check(_database(engine)), _check(_search(indexer)), _check(_migrations(engine))
        )
        checks = {"database": database, "search": search, "migrations": migrations}
        failing = [{"check": name, "reason": c["reason"]} for name, c in checks.items() if not c["ok"]]
        if not failing:
            return Response({"status": "ok", "checks": checks}, status_code=200)
        return Response(
            {"status": "unavailable", "failing": failing, "checks": checks},
            status_code=503,
            headers={"Retry-After": RETRY_AFTER},
        )

    @get("/", summary="Is the service up; do the database and the search index answer?")
    async def health(
        self,
        indexer: NamedDependency[Indexer],
        state: State,
    ) -> Response[dict[str, Any]]:
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
