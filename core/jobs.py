"""Background jobs and leases, kept in the database so that several instances share them.

A job is a row in `jobs`. Any instance may claim it; the claim marks it `running` with a lease (`locked_until`)
and is taken in one write transaction: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so two instances never
claim the same row; on SQLite the write lock (`BEGIN IMMEDIATE`) serialises claims. A job whose instance died
is claimed again once its lease has run out. A job is `done` or, after `MAX_ATTEMPTS`, `failed` (with its
error); in between it waits with a growing delay. `key` names what a job does (`sync_bot:<slug>`): while one
such job is queued, enqueueing another is a no-op.

A lease (`leases`) is a named right to do something for a while, held by one instance at a time: the
scheduled code bank sync takes one per interval, so it runs in one instance per interval.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

MAX_ATTEMPTS = 5
LEASE_SECONDS = 600.0


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "uq_jobs_queued_key",
            "key",
            unique=True,
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
        Index("ix_jobs_status_run_after", "status", "run_after"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued | running | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Lease(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime())


async def enqueue(session: AsyncSession, kind: str, key: str, payload: dict[str, Any]) -> Job | None:
    """Queue a job in the caller's transaction; None when a job with this key is queued already."""
    existing = await session.scalar(select(Job).where(Job.key == key, Job.status == "queued"))
    if existing is not None:
        return None
    job = Job(kind=kind, key=key, payload=payload, status="queued", attempts=0, run_after=utcnow())
    try:
        async with session.begin_nested():
            session.add(job)
    except IntegrityError:  # another instance queued the same just now
        return None
    session.info["jobs_enqueued"] = True
    return job


async def claim(session: AsyncSession, worker: str, lease_seconds: float = LEASE_SECONDS) -> Job | None:
    """Claim the oldest job that is due (or whose claimant's lease ran out); the caller commits."""
    now = utcnow()
    due = (Job.status == "queued") & (Job.run_after <= now)
    abandoned = (Job.status == "running") & (Job.locked_until < now)
    stmt = select(Job).where(due | abandoned).order_by(Job.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    job = await session.scalar(stmt)
    if job is None:
        return None
    job.status = "running"
    job.locked_by = worker
    job.locked_until = now + dt.timedelta(seconds=lease_seconds)
    job.attempts += 1
    await session.flush()
    return job


class JobFailed(Exception):
    """A job that cannot succeed by trying again (a repository that cannot be mirrored): `failed` at once."""


async def finish(
    session: AsyncSession, job_id: int, *, error: str | None = None, result: Any = None, final: bool = False
) -> str:
    """Record how a claimed job ended: `done`, or on error `queued` again (later) or `failed` (after
    MAX_ATTEMPTS, or at once when `final`). Returns it."""
    job = await session.get(Job, job_id)
    if job is None:
        return "gone"
    now = utcnow()
    job.locked_by = None
    job.locked_until = None
    if error is None:
        job.status, job.finished_at, job.result, job.last_error = "done", now, result, None
        return job.status
    job.last_error = error[:4000]
    job.result = result
    if final or job.attempts >= MAX_ATTEMPTS or await _queued_twin(session, job):
        job.status, job.finished_at = "failed", now
    else:
        job.status, job.run_after = "queued", now + dt.timedelta(seconds=min(600, 5 * 2**job.attempts))
    return job.status


async def _queued_twin(session: AsyncSession, job: Job) -> bool:
    twin = await session.scalar(select(Job.id).where(Job.key == job.key, Job.status == "queued", Job.id != job.id))
    return twin is not None


async def acquire_lease(session: AsyncSession, name: str, holder: str, seconds: float) -> bool:
    """Take the lease `name` for `seconds` if nobody holds it (it is new, or has run out); the caller commits.

    A holder does not renew its own lease early: a lease taken for an interval is one turn in that interval.
    """
    now = utcnow()
    until = now + dt.timedelta(seconds=seconds)
    result = await session.execute(
        update(Lease).where(Lease.name == name, Lease.until <= now).values(holder=holder, until=until)
    )
    if getattr(result, "rowcount", 0) == 1:
        return True
    if await session.get(Lease, name) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(Lease(name=name, holder=holder, until=until))
    except IntegrityError:
        return False
    return True
