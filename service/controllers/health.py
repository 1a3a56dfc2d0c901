from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State
from sqlalchemy import text

from service import __version__


class HealthController(Controller):
    path = "/api/health"
    tags = ["health"]

    @get("/", summary="Is the service up, and does the database answer?")
    async def health(self, state: State) -> Response[dict[str, Any]]:
        engine = state.engine
        database: dict[str, Any] = {"backend": engine.dialect.name}
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            database["ok"] = True
        except Exception as exc:  # the health check reports, it does not fail
            database["ok"] = False
            database["error"] = type(exc).__name__
        status = "ok" if database["ok"] else "degraded"
        body = {"status": status, "version": __version__, "database": database}
        return Response(body, status_code=200 if database["ok"] else 503)
