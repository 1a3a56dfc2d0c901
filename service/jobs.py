"""The job runner of one instance: claims jobs from the shared `jobs` table and runs them (see core.jobs).

Every instance runs one; a job enqueued in a request is run after the request answered (the runner is woken
when the request commits), by whichever instance claims it first, and survives the request and the instance.
The scheduled code bank sync enqueues one sync job per bot, in the one instance that holds the interval's
lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalogue.services import fold_kept_counts
from codebank.errors import GitError
from codebank.models import Bot
from codebank.services import BotService, CodebankConfig, PrincipleService, clone_repository
from core.jobs import Job, JobFailed, acquire_lease, claim, enqueue, finish
from service.indexing import Indexer
from service.metrics import count_sync
from service.notifier import Notifier

log = logging.getLogger("rpabank.jobs")
SYNC_BOT = "sync_bot"
REGISTER_BOT = "register_bot"
BOT_JOBS = (REGISTER_BOT, SYNC_BOT)  # the jobs a client may follow (GET /api/jobs/{id})
SYNC_PRINCIPLES = "sync_principles"
SCHEDULE_LEASE = "scheduled-sync"
DAILY_LEASE = "daily"
DAY_SECONDS = 86_400.0
FOLD_SECONDS = 30.0  # how often the vocabulary's link changes are folded into its counts
SYNC_TARGETS = {
    SYNC_BOT: "bot",
    REGISTER_BOT: "bot",
    SYNC_PRINCIPLES: "principles",
}  # the sync jobs counted in the metrics

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


def worker_name() -> str:
    """Who claims: host, process and a random part (two instances on one host differ)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def enqueue_bot_sync(session: AsyncSession, slug: str) -> Job:
    """Queue a sync of one bot; while one is queued already, that one."""
    key = f"{SYNC_BOT}:{slug}"
    job = await enqueue(session, SYNC_BOT, key, {"slug": slug})
    if job is None:
        job = await session.scalar(select(Job).where(Job.key == key, Job.status == "queued"))
    if job is None:  # it was claimed between the two reads: queue the next one
        job = await enqueue(session, SYNC_BOT, key, {"slug": slug})
    assert job is not None
    return job


async def enqueue_bot_registration(session: AsyncSession, slug: str) -> Job:
    """Queue the mirroring of a bot just reserved (its slug is unique, so this always queues)."""
    job = await enqueue(session, REGISTER_BOT, f"{REGISTER_BOT}:{slug}", {"slug": slug})
    assert job is not None
    await session.flush()
    return job


class JobRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        codebank: CodebankConfig,
        indexer: Indexer,
        *,
        notifier: Notifier | None = None,
        poll_seconds: float = 2.0,
    ) -> None:
        self.sessions = sessions
        self.codebank = codebank
        self.indexer = indexer
        self.poll_seconds = poll_seconds
        self.worker = worker_name()
        self._wake = asyncio.Event()
        self.handlers: dict[str, Handler] = {
            SYNC_BOT: self._sync_bot,
            REGISTER_BOT: self._register_bot,
            SYNC_PRINCIPLES: self._sync_principles,
        }
        self.notifier = notifier
        if notifier is not None:
            self.handlers.update(notifier.handlers())

    def poke(self) -> None:
        """Look for work now (a request has just queued some)."""
        self._wake.set()

    async def run_once(self) -> bool:
        """Claim and run one job. False when there was none."""
        async with self.sessions() as session:
            job = await claim(session, self.worker)
            if job is None:
                return False
            job_id, kind, payload = job.id, job.kind, dict(job.payload)
            await session.commit()
        error: str | None = None
        result: Any = None
        final = False
        handler = self.handlers.get(kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for jobs of kind {kind!r}")
            result = await handler(payload)
        except JobFailed as exc:
            error, final = str(exc), True
            log.warning("job %s (%s) failed: %s", job_id, kind, error)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("job %s (%s) failed: %s", job_id, kind, error)
        if kind in SYNC_TARGETS:
            count_sync(SYNC_TARGETS[kind], error or (result or {}).get("sync_error"))
        async with self.sessions() as session:
            await finish(session, job_id, error=error, result=result, final=final)
            await session.commit()
        return True

    async def run_forever(self) -> None:
        while True:
            try:
                while await self.run_once():
                    pass
            except Exception as exc:  # the database may be away for a moment; keep the loop alive
                log.warning("job runner: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def schedule_syncs(self, minutes: float) -> None:
        """Every interval, in the one instance that takes the interval's lease: queue a sync of every bot."""
        seconds = minutes * 60
        while True:
            try:
                async with self.sessions() as session:
                    if await acquire_lease(session, SCHEDULE_LEASE, self.worker, seconds):
                        slugs = (await session.scalars(select(Bot.slug).order_by(Bot.slug))).all()
                        for slug in slugs:
                            await enqueue_bot_sync(session, slug)
                        if self.codebank.principles_url:
                            await enqueue(session, SYNC_PRINCIPLES, SYNC_PRINCIPLES, {})
                        self.poke()
                    await session.commit()
            except Exception as exc:
                log.warning("scheduled sync: %s", exc)
            await asyncio.sleep(max(0.5, seconds / 4))

    async def schedule_daily(self) -> None:
        """Once a day, in the one instance that takes the day's lease: the e-mail digest and the benefit check
        (first a minute after start, so a starting instance answers first)."""
        while True:
            await asyncio.sleep(60)
            try:
                async with self.sessions() as session:
                    if self.notifier and await acquire_lease(session, DAILY_LEASE, self.worker, DAY_SECONDS):
                        await self.notifier.enqueue_daily(session)
                        self.poke()
                    await session.commit()
            except Exception as exc:
                log.warning("daily jobs: %s", exc)
            await asyncio.sleep(540)

    async def fold_vocabulary_counts(self, seconds: float = FOLD_SECONDS) -> None:
        """Every `seconds`, fold the recent changes of the vocabulary's links and of the processes into their kept
        counts (every instance may: folding twice at once adds each change once)."""
        while True:
            await asyncio.sleep(seconds)
            try:
                async with self.sessions() as session:
                    if await fold_kept_counts(session):
                        await session.commit()
            except Exception as exc:
                log.warning("vocabulary counts: %s", exc)

    async def _sync_bot(self, payload: dict[str, Any]) -> dict[str, Any]:
        slug = str(payload["slug"])
        async with self.sessions() as session:
            bot = await BotService(session, self.codebank).sync(None, slug)
            await session.commit()
        if bot.sync_error:
            log.warning("code bank sync of %s failed: %s", slug, bot.sync_error)
        await self.indexer.drain()
        return {"slug": slug, "head": bot.head, "sync_error": bot.sync_error}

    async def _register_bot(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Mirror a reserved bot: the clone runs outside any transaction (no write waits for the host); a
        repository that cannot be mirrored leaves nothing behind, and the job says why."""
        slug = str(payload["slug"])
        async with self.sessions() as session:
            bot = await session.get(Bot, slug)
            url = bot.url if bot is not None and bot.synced_at is None else None
        if url is None:
            return {"slug": slug, "skipped": "the bot is gone or registered already"}
        try:
            staging = await clone_repository(self.codebank, url)
        except GitError as exc:
            async with self.sessions() as session:
                await BotService(session, self.codebank).abandon(slug)
                await session.commit()
            raise JobFailed(f"The repository could not be mirrored: {exc}") from None
        async with self.sessions() as session:
            bot_read = await BotService(session, self.codebank).fill(slug, staging)
            await session.commit()
        await self.indexer.drain()
        return {"slug": slug, "head": bot_read.head, "sync_error": None}

    async def _sync_principles(self, payload: dict[str, Any]) -> dict[str, Any]:
        async with self.sessions() as session:
            principles = await PrincipleService(session, self.codebank).sync()
            await session.commit()
        await self.indexer.drain()
        return {"principles": len(principles)}
