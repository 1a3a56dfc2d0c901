"""The application's schema (every domain's models) and Alembic migrations run from code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

import catalogue.models  # noqa: F401  (registers the tables)
import codebank.models  # noqa: F401
import core.indexing  # noqa: F401
from core.db import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def metadata() -> MetaData:
    return Base.metadata


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to `revision` (the newest by default). Safe to run on every start."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
