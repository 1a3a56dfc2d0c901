"""Test fixtures. Every database test runs on SQLite, and on PostgreSQL when one is reachable.

PostgreSQL: `RPABANK_TEST_DATABASE_URL` (default: the local server, database `test`). Each test run
creates its own database there and drops it at the end. In CI (`CI` set) an unreachable PostgreSQL
fails the run instead of skipping, so both databases are always tested there.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import make_url, text

from catalogue.tokens import TokenService
from core.db import create_engine, session_factories
from service.app import create_app
from service.db import metadata, upgrade
from service.settings import Settings

ADMIN_TOKEN = "test-admin-token"
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _pg_reachable(url: str) -> str | None:
    engine = create_engine(url, connect_args={"timeout": 3})
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "rpabank.sqlite3"

    async def go() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    _run(go())
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run."""
    base = os.environ.get("RPABANK_TEST_DATABASE_URL", PG_DEFAULT)
    problem = _run(_pg_reachable(base))
    if problem:
        message = f"PostgreSQL at {make_url(base).render_as_string()} is not reachable ({problem})"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must test PostgreSQL too")
        pytest.skip(message + "; set RPABANK_TEST_DATABASE_URL to test on PostgreSQL")
    name = f"rpabank_test_{uuid.uuid4().hex[:10]}"

    async def on_server(sql: str) -> None:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await admin.dispose()

    async def create() -> None:
        await on_server(f'CREATE DATABASE "{name}"')
        engine = create_engine(make_url(base).set(database=name).render_as_string(hide_password=False))
        await upgrade(engine)
        await engine.dispose()

    _run(create())
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        _run(on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _truncate_postgres(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in metadata().sorted_tables)

    async def go() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            search = (await conn.execute(text("SELECT to_regclass('search_documents') IS NOT NULL"))).scalar()
            extra = ", search_documents, search_terms" if search else ""  # the PostgreSQL search's tables
            await conn.execute(text(f"TRUNCATE {tables}{extra} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    _run(go())


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """The URL of an empty, migrated database: SQLite always, PostgreSQL when reachable."""
    if request.param == "sqlite":
        path = tmp_path / "data" / "rpabank.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, admin_token=ADMIN_TOKEN)


class Api:
    """A test client with the tokens of the usual actors at hand."""

    def __init__(self, client: AsyncTestClient[Any]) -> None:
        self.client = client
        self.tokens: dict[str, str] = {"admin": ADMIN_TOKEN}

    def auth(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    async def token(self, who: str, role: str, municipality: str | None = None) -> str:
        # The app's engine lives on the test client's own event loop: use one of ours.
        engine = create_engine(self.client.app.state.settings.effective_database_url)
        try:
            async with session_factories(engine)[1]() as session:
                secret, _ = await TokenService(session).create(role, municipality, who)
                await session.commit()
        finally:
            await engine.dispose()
        self.tokens[who] = secret
        return secret

    async def get(self, url: str, who: str | None = None, **kw: Any) -> Any:
        return await self.client.get(url, headers={**self.auth(who), **kw.pop("headers", {})}, **kw)

    async def post(self, url: str, json: Any = None, who: str | None = "admin", **kw: Any) -> Any:
        return await self.client.post(url, json=json, headers={**self.auth(who), **kw.pop("headers", {})}, **kw)

    async def put(self, url: str, json: Any = None, who: str | None = "admin", **kw: Any) -> Any:
        return await self.client.put(url, json=json, headers={**self.auth(who), **kw.pop("headers", {})}, **kw)

    async def patch(self, url: str, json: Any = None, who: str | None = "admin", **kw: Any) -> Any:
        return await self.client.patch(url, json=json, headers={**self.auth(who), **kw.pop("headers", {})}, **kw)

    async def delete(self, url: str, who: str | None = "admin", **kw: Any) -> Any:
        return await self.client.delete(url, headers={**self.auth(who), **kw.pop("headers", {})}, **kw)


MUNICIPALITIES = [
    {"code": "253", "name": "Greve", "cvr": "44023911"},
    {"code": "259", "name": "Køge", "cvr": "29189374", "aliases": ["Koege", "Koge"]},
    {"code": "376", "name": "Guldborgsund", "cvr": "29188599", "aliases": ["Guldborgssund"]},
]


def process_body(title: str = "Indhentning af børne- og straffeattester", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": title,
        "summary": "Robotten henter børne- og straffeattester fra politiets attestløsning.",
        "description": "## Baggrund\nAttester indhentes ved ansættelse.",
        "domain": "hr_og_loen",
        "phase": "operation",
        "systems": ["Politiets attestløsning", "eDoc"],
        "technologies": ["Power Automate"],
        "tags": ["attester"],
        "cases_per_year": 1200,
        "minutes_per_case": 3.2,
        "automation_rate": 85,
        "build_hours": 120,
    }
    body.update(extra)
    return body


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


@pytest.fixture
async def api(client: AsyncTestClient[Any]) -> Api:
    """An API with three municipalities and tokens: admin, editor_253, editor_376."""
    api = Api(client)
    for m in MUNICIPALITIES:
        r = await api.post("/api/municipalities", m)
        assert r.status_code == 201, r.text
    await api.token("editor_253", "editor", "253")
    await api.token("editor_376", "editor", "376")
    return api
