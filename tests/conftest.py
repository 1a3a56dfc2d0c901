"""Test fixtures. Every database test runs on SQLite, and on PostgreSQL when one is reachable.

PostgreSQL: `RPABANK_TEST_DATABASE_URL` (default: the local server, database `test`). Each test run
creates its own database there and drops it at the end. In CI (`CI` set) an unreachable PostgreSQL
fails the run instead of skipping, so both databases are always tested there.

Set-up is cheap per test: the schema is migrated once per session (a SQLite template file copied for each
test; one PostgreSQL database emptied before each test), and the app starts with `migrate=False`. A test
that asks for `api` gets the three municipalities and the two editor tokens seeded before the app starts
(SQLite: a second, seeded template; PostgreSQL: in the same transaction as the emptying), with fixed token
secrets. Tests of migrations and of start-up build their own app or database and take the migrating path.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from catalogue.models import ApiToken, User
from catalogue.schemas import MunicipalityCreate, TokenCreate
from catalogue.services import MunicipalityService
from catalogue.tokens import TokenService, hash_token
from core.actors import Actor
from core.db import create_engine, session_factories
from service.app import create_app
from service.db import metadata, upgrade
from service.settings import Settings


def free_port() -> int:
    """A port nobody listens on now, on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(app: Litestar, port: int | None = None, timeout: float = 30) -> Iterator[str]:
    """`app` served by uvicorn on a thread of the test process (for a browser, a provider or clients that need a
    real socket); yields its base URL and stops it after."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


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


MUNICIPALITIES = [
    {"code": "253", "name": "Greve", "cvr": "44023911"},
    {"code": "259", "name": "Køge", "cvr": "29189374", "aliases": ["Koege", "Koge"]},
    {"code": "376", "name": "Guldborgsund", "cvr": "29188599", "aliases": ["Guldborgssund"]},
]
# The editor tokens `api` starts with: name -> (municipality, secret). The secrets are fixed (only their
# hashes are stored, as `TokenService.create` stores them), so seeding needs no round trip to learn them.
SEED_TOKENS = {
    "editor_253": ("253", "rpab_test-editor-253-secret-0000000000000000000"),
    "editor_376": ("376", "rpab_test-editor-376-secret-0000000000000000000"),
}


async def _seed(conn: AsyncConnection) -> None:
    """The three municipalities (through the service, as `POST /api/municipalities` makes them) and the two
    editor tokens, in the caller's transaction. The index queue is left empty: the app builds the search index
    from the database when it starts on an empty index, as it would have drained the queue after the POSTs."""
    session = AsyncSession(bind=conn, expire_on_commit=False)
    try:
        admin = Actor(role="admin", name="admin (RPABANK_ADMIN_TOKEN)")
        for m in MUNICIPALITIES:
            await MunicipalityService(session).create(admin, msgspec.convert(m, MunicipalityCreate))
        await session.flush()
        for name, (code, secret) in SEED_TOKENS.items():
            session.add(ApiToken(name=name, role="editor", municipality_code=code, token_hash=hash_token(secret)))
            await session.flush()
        session.info.pop("index_rows", None)
        await session.execute(text("DELETE FROM index_queue"))
    finally:
        await session.close()


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
def seeded_sqlite_template(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    """The migrated template with the municipalities and tokens of `api`, copied for each test that uses it."""
    path = tmp_path_factory.mktemp("seeded") / "rpabank.sqlite3"
    shutil.copy(sqlite_template, path)

    async def go() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        async with engine.begin() as conn:
            await _seed(conn)
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


class _LoopThread:
    """An event loop in a thread of its own, so one engine (and its connection) serves every test's reset."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pg-reset", daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@pytest.fixture(scope="session")
def reset_postgres(postgres_url: str) -> Iterator[Callable[[bool], None]]:
    """Empty every table and restart the sequences (what `TRUNCATE … RESTART IDENTITY` does, but DELETE is
    many times faster on tables this small), and seed for `api` when asked: one transaction per test."""
    tables = [t.name for t in reversed(metadata().sorted_tables)]
    restart_sequences = (
        "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
    )
    runner = _LoopThread()
    engine = runner.run(_make_engine(postgres_url))

    async def go(seed: bool) -> None:
        async with engine.begin() as conn:
            for table in tables:
                await conn.execute(text(f'DELETE FROM "{table}"'))
            # emptying process_terms and processes logged a change for each (their triggers, migrations 0016, 0017)
            await conn.execute(text("DELETE FROM term_use_changes"))
            await conn.execute(text("DELETE FROM process_count_changes"))
            if (await conn.execute(text("SELECT to_regclass('search_documents') IS NOT NULL"))).scalar():
                # the PostgreSQL search's own tables (made by the backend, not the migrations)
                await conn.execute(text("DELETE FROM search_documents"))
                await conn.execute(text("DELETE FROM search_terms"))
                if (await conn.execute(text("SELECT to_regclass('search_facets') IS NOT NULL"))).scalar():
                    await conn.execute(text("DELETE FROM search_facets"))
            await conn.execute(text(restart_sequences))
            if seed:
                await _seed(conn)

    try:
        yield lambda seed: runner.run(go(seed))
    finally:
        runner.run(engine.dispose())
        runner.close()


async def _make_engine(url: str) -> AsyncEngine:
    return create_engine(url)


@pytest.fixture(scope="session")
def data_dirs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the app's data folder lives, one per database kind, emptied before each test. The same folder
    for every test keeps `settings` equal between tests, so `client` can reuse the app built for them."""
    return tmp_path_factory.mktemp("app")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    """Which database a test runs on: SQLite always, PostgreSQL when reachable."""
    return str(request.param)


@pytest.fixture
def data_dir(data_dirs: Path, database_kind: str) -> Path:
    """The app's data folder, emptied. The same folder for every test on a database kind keeps `settings`
    equal between tests, so `client` can reuse the app it built for them."""
    path = data_dirs / database_kind / "data"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture
def database_url(request: pytest.FixtureRequest, database_kind: str, data_dir: Path, sqlite_template: Path) -> str:
    """The URL of a migrated database. Empty, unless the test uses `api`: then it holds that fixture's
    municipalities and tokens already."""
    seed = "api" in request.fixturenames
    if database_kind == "sqlite":
        template = request.getfixturevalue("seeded_sqlite_template") if seed else sqlite_template
        path = data_dir / "rpabank.sqlite3"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"
    request.getfixturevalue("reset_postgres")(seed)
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url, admin_token=ADMIN_TOKEN)


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

    async def person(
        self, who: str, role: str, municipality: str | None = None, *, active: bool = True, email: str | None = None
    ) -> int:
        """A person (as a first OpenID Connect sign-in makes them) with a personal token named `who`; their id."""
        engine = create_engine(self.client.app.state.settings.effective_database_url)
        try:
            async with session_factories(engine)[1]() as session:
                user = User(
                    name=who.replace("_", " ").title(),
                    email=email or f"{who}@example.dk",
                    municipality_code=municipality,
                    role=role,
                    active=True,
                    issuer="https://login.example.dk",
                    subject=who,
                    role_source="groups",
                    session_epoch=0,
                )
                session.add(user)
                await session.flush()
                actor = Actor(role=role, name=user.name, municipality=municipality, user_id=user.id)
                secret, _ = await TokenService(session).create_for(actor, TokenCreate(name=f"{who}'s token"))
                user.active = active
                await session.commit()
                user_id = user.id
        finally:
            await engine.dispose()
        self.tokens[who] = secret
        return user_id

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

    async def wait_job(self, job: dict[str, Any], who: str | None = "admin", seconds: float = 60) -> dict[str, Any]:
        """Follow a code bank job (as the 202 of a registration or sync gives it) until it is done or failed."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            r = await self.get(job["url"], who=who)
            assert r.status_code == 200, r.text
            if r.json()["status"] in ("done", "failed"):
                return dict(r.json())
            assert asyncio.get_running_loop().time() < deadline, f"job still {r.json()['status']}"
            await asyncio.sleep(0.05)

    async def register_bot(self, body: dict[str, Any], who: str | None = "admin") -> Any:
        """Register a bot as a client does: 202, follow the job, then read the bot (a failed job: its answer)."""
        r = await self.post("/api/bots", body, who=who)
        if r.status_code != 202:
            return r
        job = await self.wait_job(r.json()["job"], who=who)
        if job["status"] == "failed":
            return job
        return await self.get(f"/api/bots/{r.json()['bot']['slug']}", who=who)

    async def sync_bot(self, slug: str, who: str | None = "admin") -> Any:
        """Sync a bot as a client does: 202, follow the job, then read the bot."""
        r = await self.post(f"/api/bots/{slug}/sync", who=who)
        if r.status_code != 202:
            return r
        await self.wait_job(r.json()["job"], who=who)
        return await self.get(f"/api/bots/{slug}", who=who)


def register_bot_sync(client: Any, url: str, token: str = ADMIN_TOKEN, seconds: float = 60) -> dict[str, Any]:
    """Register a bot through a synchronous test client and wait for its job; the job as it ended."""
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post("/api/bots", json={"url": url}, headers=headers)
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + seconds
    while True:
        job = client.get(r.json()["job"]["url"], headers=headers).json()
        if job["status"] in ("done", "failed"):
            return dict(job)
        assert time.monotonic() < deadline, f"job still {job['status']}"
        time.sleep(0.05)


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


@pytest.fixture(scope="session")
def apps() -> dict[Settings, Litestar]:
    """The apps built in this session, by their settings. Building one costs far more than starting it, and
    an app starts afresh each time (its engine, search index and indexer are made by its lifespan)."""
    return {}


@pytest.fixture
async def client(settings: Settings, apps: dict[Settings, Litestar]) -> AsyncIterator[AsyncTestClient[Any]]:
    """The app on the test's database, which `database_url` has migrated already: no migration at start-up."""
    app = apps.get(settings)
    if app is None:
        app = apps[settings] = create_app(settings, migrate=False)
    app.state.settings = settings  # a test may have swapped them on an earlier start
    async with AsyncTestClient(app=app) as c:
        yield c


@pytest.fixture
async def api(client: AsyncTestClient[Any]) -> Api:
    """An API with three municipalities and tokens: admin, editor_253, editor_376 (seeded by `database_url`)."""
    api = Api(client)
    api.tokens.update({name: secret for name, (_, secret) in SEED_TOKENS.items()})
    return api


# Code bank tests: real git repositories made in the test, some of them hostile, and settings that allow
# local repository paths and know the webhook secret.
WEBHOOK_SECRET = "webhook-test-secret"


def code_bank_settings(settings: Settings) -> Settings:
    """The usual test settings, with local repositories allowed and a webhook secret."""
    return dataclasses.replace(settings, allow_local_repos=True, webhook_secret=WEBHOOK_SECRET)


class SourceRepo:
    """A working repository the tests commit to, standing in for a Git host."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, input: bytes | None = None) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "Test",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "Test",
            "GIT_COMMITTER_EMAIL": "t@example.org",
        }
        out = subprocess.run(
            ["git", "-C", str(self.path), *args], env=env, input=input, capture_output=True, check=True
        )
        return out.stdout.decode("utf-8", "replace").strip()

    def write(self, files: dict[str | bytes, str | bytes]) -> None:
        for name, content in files.items():
            target = self.path / (os.fsdecode(name) if isinstance(name, bytes) else name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode())

    def commit(self, files: dict[str | bytes, str | bytes], message: str = "change", tag: str | None = None) -> str:
        self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        if tag:
            self.git("tag", tag)
        return self.git("rev-parse", "HEAD")

    @property
    def url(self) -> str:
        return str(self.path.resolve())


@pytest.fixture
def source(tmp_path: Path) -> SourceRepo:
    repo = SourceRepo(tmp_path / "origin" / "hent-attester")
    repo.commit(
        {
            "README.md": "# Attest-robotten\n\nHenter straffeattester fra politiet.\n",
            "rpabank.yaml": "name: Attest-robotten\nsummary: Henter attester.\nprocesses: "
            "[indhentning-af-boerne-og-straffeattester]\nprinciples: [koe-haandtering]\n",
            "src/robot.py": "def hent_straffeattest_fra_politiet(sag_id):\n    return sag_id\n",
            "src/edoc.py": "class EDocClient:\n    def opret_sag(self):\n        pass\n",
            "requirements.txt": "httpx\n",
        },
        "first",
        tag="v1.0.0",
    )
    return repo
