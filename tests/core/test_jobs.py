"""core.jobs: jobs are claimed once, retried with a delay, reclaimed when their claimant died; a lease is held by
one holder at a time. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import create_engine, session_factories, utcnow
from core.jobs import MAX_ATTEMPTS, Job, Lease, acquire_lease, claim, enqueue, finish


@pytest.fixture
async def writes(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    try:
        yield session_factories(engine)[1]
    finally:
        await engine.dispose()


async def test_a_job_with_the_same_key_is_queued_once(writes: async_sessionmaker[AsyncSession]) -> None:
    async with writes() as session:
        assert await enqueue(session, "sync_bot", "sync_bot:a", {"slug": "a"}) is not None
        assert await enqueue(session, "sync_bot", "sync_bot:a", {"slug": "a"}) is None
        assert await enqueue(session, "sync_bot", "sync_bot:b", {"slug": "b"}) is not None
        await session.commit()
    async with writes() as session:
        keys = (await session.scalars(select(Job.key).where(Job.status == "queued").order_by(Job.id))).all()
    assert keys == ["sync_bot:a", "sync_bot:b"]


async def test_concurrent_claims_take_each_job_once(writes: async_sessionmaker[AsyncSession]) -> None:
    async with writes() as session:
        for n in range(12):
            await enqueue(session, "k", f"k:{n}", {"n": n})
        await session.commit()

    async def worker(name: str) -> list[int]:
        mine = []
        while True:
            async with writes() as session:
                job = await claim(session, name)
                if job is None:
                    return mine
                mine.append(job.payload["n"])
                await session.commit()

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
    claimed = [n for r in results for n in r]
    assert sorted(claimed) == list(range(12))  # every job, none twice


async def test_a_failed_job_waits_and_is_retried_then_fails_for_good(writes: async_sessionmaker[AsyncSession]) -> None:
    async with writes() as session:
        await enqueue(session, "k", "k:1", {})
        await session.commit()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        async with writes() as session:
            job = await claim(session, "w")
            assert job is not None and job.attempts == attempt
            status = await finish(session, job.id, error=f"boom {attempt}")
            await session.commit()
        expected = "failed" if attempt == MAX_ATTEMPTS else "queued"
        assert status == expected
        async with writes() as session:
            assert await claim(session, "w") is None  # not due yet (or failed for good)
            await session.execute(update(Job).values(run_after=utcnow() - dt.timedelta(seconds=1)))
            await session.commit()
    async with writes() as session:
        failed = await session.scalar(select(Job))
    assert failed is not None and failed.status == "failed" and failed.last_error == f"boom {MAX_ATTEMPTS}"


async def test_a_job_whose_claimant_died_is_claimed_again(writes: async_sessionmaker[AsyncSession]) -> None:
    async with writes() as session:
        await enqueue(session, "k", "k:1", {})
        await session.commit()
    async with writes() as session:
        assert await claim(session, "dead", lease_seconds=600) is not None
        await session.commit()
    async with writes() as session:
        assert await claim(session, "alive") is None  # still leased
        await session.execute(update(Job).values(locked_until=utcnow() - dt.timedelta(seconds=1)))
        await session.commit()
    async with writes() as session:
        job = await claim(session, "alive")
        assert job is not None and job.locked_by == "alive" and job.attempts == 2
        assert await finish(session, job.id) == "done"
        await session.commit()


async def test_a_lease_has_one_holder_until_it_runs_out(writes: async_sessionmaker[AsyncSession]) -> None:
    async def take(holder: str) -> bool:
        async with writes() as session:
            got = await acquire_lease(session, "scheduled-sync", holder, 60)
            await session.commit()
            return got

    results = await asyncio.gather(*(take(f"i{n}") for n in range(5)))
    assert results.count(True) == 1
    winner = f"i{results.index(True)}"
    assert not await take(winner)  # not even its holder takes it again before it runs out
    async with writes() as session:
        await session.execute(update(Lease).values(until=utcnow() - dt.timedelta(seconds=1)))
        await session.commit()
    assert await take("i9")
