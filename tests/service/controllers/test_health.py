"""service.controllers.health: /api/health reports the database and the search index."""

from __future__ import annotations

from tests.conftest import Api


async def test_health_reports_the_database(api: Api) -> None:
    r = await api.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["backend"] in ("sqlite", "postgresql")
