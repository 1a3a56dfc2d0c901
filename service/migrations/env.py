"""Alembic environment: the same migrations for SQLite (batch mode) and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context

from core.db import create_engine
from service.db import metadata, owned_by_migrations

config = context.config
target_metadata = metadata()


def _configure(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=owned_by_migrations,
    )


def run_with(connection: Any) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.begin() as conn:
        await conn.run_sync(run_with)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    run_with(connection)
else:
    asyncio.run(run_async())
