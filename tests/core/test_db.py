"""core.db: side effects tied to the transaction that justifies them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from core.db import after_commit, create_engine, on_rollback, session_factories


async def test_after_commit_runs_only_on_commit_and_on_rollback_only_without_one(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    _, writes = session_factories(engine)
    log: list[str] = []
    try:
        async with writes() as session:
            await session.execute(text("SELECT 1"))
            after_commit(session, lambda: log.append("committed"))
            on_rollback(session, lambda: log.append("not committed"))
            await session.commit()
        assert log == ["committed"]
        async with writes() as session:
            await session.execute(text("SELECT 1"))
            after_commit(session, lambda: log.append("committed 2"))
            on_rollback(session, lambda: log.append("rolled back"))
            await session.rollback()
        assert log == ["committed", "rolled back"]
        async with writes() as session:  # closed without a commit: the same as a rollback
            await session.execute(text("SELECT 1"))
            after_commit(session, lambda: log.append("committed 3"))
            on_rollback(session, lambda: log.append("closed"))
        assert log == ["committed", "rolled back", "closed"]
    finally:
        await engine.dispose()
