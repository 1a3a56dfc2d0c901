"""Migrations upgrade an empty database on SQLite and PostgreSQL, and agree with the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from core.db import create_engine
from service.db import alembic_config, current_revision, metadata, owned_by_migrations, upgrade


async def test_upgrade_from_empty_and_no_drift(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)  # already at head: running again is harmless
        head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
        assert await current_revision(engine) == head

        def diff(sync_conn: Any) -> list[Any]:
            return compare_metadata(
                MigrationContext.configure(sync_conn, opts={"compare_type": True, "include_name": owned_by_migrations}),
                metadata(),
            )

        async with engine.connect() as conn:
            differences = await conn.run_sync(diff)
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert differences == [], differences
        assert {"municipalities", "processes", "adoptions", "process_revisions", "terms", "api_tokens"} <= tables
    finally:
        await engine.dispose()


async def test_a_new_sqlite_file_is_created_and_migrated(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'new.sqlite3'}")
    try:
        await upgrade(engine)
        assert await current_revision(engine) is not None
    finally:
        await engine.dispose()
