"""Database plumbing shared by every domain package: the declarative base, column types, engines.

SQLite (the embedded default) and PostgreSQL (production) run the same models and migrations.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

log = logging.getLogger("rpabank.db")
SQLITE_BUSY_TIMEOUT_MS = 10_000


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalise_url(url: str) -> str:
    """Accept the URLs people write (`postgresql://`, `sqlite:///`) and pick the async driver."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif driver in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


PG_CONNECT_TIMEOUT_S = 5
PG_POOL_TIMEOUT_S = 10


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; for SQLite with WAL, foreign keys, a busy timeout and explicit BEGINs.

    Writes on SQLite start with ``BEGIN IMMEDIATE`` (see :func:`write_engine`), so concurrent
    writers queue on the busy timeout instead of failing when a read lock cannot be upgraded.
    """
    url = normalise_url(url)
    if url.startswith("postgresql+asyncpg"):
        # a database that does not answer: fail in seconds (the service answers 503), never hang for a minute
        kwargs.setdefault("connect_args", {}).setdefault("timeout", PG_CONNECT_TIMEOUT_S)
        kwargs.setdefault("pool_timeout", PG_POOL_TIMEOUT_S)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def write_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (same pool) marked so that transactions take the write lock up front."""
    return engine.execution_options(rpabank_write=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (the driver's own would be deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("rpabank_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factories(engine: AsyncEngine) -> tuple[async_sessionmaker[Any], async_sessionmaker[Any]]:
    """(read sessions, write sessions) over one pool."""
    reads = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    writes = async_sessionmaker(write_engine(engine), expire_on_commit=False, autoflush=False)
    return reads, writes


# ---------------------------------------------------------------- side effects tied to a transaction

_AFTER_COMMIT = "rpabank_after_commit"
_ON_ROLLBACK = "rpabank_on_rollback"


def after_commit(session: Any, action: Callable[[], None]) -> None:
    """Run `action` once the transaction of `session` (an ORM or async session) has committed; never if it rolls
    back. For file and git side effects that the database change justifies (move a mirror into place, delete
    one): a rolled-back write leaves the files as they were."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def on_rollback(session: Any, action: Callable[[], None]) -> None:
    """Run `action` if the transaction of `session` rolls back (clean up what was prepared for it)."""
    session.info.setdefault(_ON_ROLLBACK, []).append(action)


def _run(actions: list[Callable[[], None]]) -> None:
    """Run each action; one that fails is logged and the others still run. They run after the outcome is
    decided, so a failure must not turn a committed write into an error (a client would retry and write twice)."""
    for action in actions:
        try:
            action()
        except Exception:
            log.exception("a side effect after the transaction ended failed")


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_ON_ROLLBACK, None)
    _run(session.info.pop(_AFTER_COMMIT, []))


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    # the outermost transaction ended without a commit (rollback, or a close without commit)
    session.info.pop(_AFTER_COMMIT, None)
    _run(session.info.pop(_ON_ROLLBACK, []))
