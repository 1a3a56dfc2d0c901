"""Liveness and readiness (`/api/health/live`, `/api/health/ready`) and the detailed `/api/health`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from core.db import create_engine
from search.documents import SearchQuery, SearchResult
from service.app import create_app
from service.controllers.health import head_revision
from service.indexing import Indexer
from service.settings import Settings
from tests.conftest import Api


async def test_live_answers_ok(client: AsyncTestClient[Any]) -> None:
    r = await client.get("/api/health/live")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_ready_when_database_search_and_schema_answer(api: Api) -> None:
    r = await api.get("/api/health/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": {"ok": True}, "search": {"ok": True}, "migrations": {"ok": True}}


async def test_ready_is_503_when_the_search_fails(
    client: AsyncTestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Indexer, query: SearchQuery) -> SearchResult:
        raise ConnectionError("search engine away")

    monkeypatch.setattr(Indexer, "search", broken)
    r = await client.get("/api/health/ready")
    assert r.status_code == 503
    assert r.headers["retry-after"]
    body = r.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == [{"check": "search", "reason": "ConnectionError: search engine away"}]
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    # liveness does not depend on it
    assert (await client.get("/api/health/live")).status_code == 200


async def test_ready_is_503_when_the_schema_is_behind_the_code(
    client: AsyncTestClient[Any], settings: Settings
) -> None:
    head = head_revision()
    assert head
    engine = create_engine(settings.effective_database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0004'"))
        r = await client.get("/api/health/ready")
        assert r.status_code == 503
        assert r.headers["retry-after"]
        failing = r.json()["failing"]
        assert [f["check"] for f in failing] == ["migrations"]
        assert "0004" in failing[0]["reason"] and head in failing[0]["reason"]
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        await engine.dispose()
    assert (await client.get("/api/health/ready")).status_code == 200


async def test_ready_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", database_url="postgresql+asyncpg://nobody@127.0.0.1:1/nowhere", admin_token="x"
    )
    async with AsyncTestClient(app=create_app(settings, migrate=False)) as client:
        assert (await client.get("/api/health/live")).status_code == 200
        r = await client.get("/api/health/ready")
        assert r.status_code == 503
        assert r.headers["retry-after"]
        failing = {f["check"]: f["reason"] for f in r.json()["failing"]}
        assert {"database", "migrations"} <= set(failing)
        assert all(failing.values())


async def test_detailed_health_keeps_its_fields(api: Api) -> None:
    r = await api.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert {"status", "version", "database", "search"} <= set(body)
    assert "pending" in body["search"]
