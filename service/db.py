"""The application's schema (every domain's models) and Alembic migrations run from code."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

import catalogue.models  # noqa: F401  (registers the tables)
import codebank.models  # noqa: F401
import core.idempotency  # noqa: F401
import core.indexing  # noqa: F401
import core.jobs  # noqa: F401
from core.db import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def metadata() -> MetaData:
    return Base.metadata


def owned_by_migrations(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's `include_name`: the `search_*` tables belong to the PostgreSQL search backend, which creates
    them itself (they are derived data, like the FTS5 files); every other table is the migrations'."""
    return not (type_ == "table" and name is not None and name.startswith("search_"))


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


MIGRATION_LOCK_KEY = 0x5270_4D31  # PostgreSQL advisory lock key of the schema upgrade ("RpM1")


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to `revision` (the newest by default). Safe to run on every start, by several
    instances at once: one upgrades while the others wait for it (a PostgreSQL advisory lock held for the
    upgrade's transaction; on SQLite a file lock beside the database file), and then find nothing to do."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    with _sqlite_file_lock(engine):
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            await conn.run_sync(run)


@contextlib.contextmanager
def _sqlite_file_lock(engine: AsyncEngine) -> Iterator[None]:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    path = Path(database).with_name(Path(database).name + ".migrate.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
