"""Sync the whole code bank at once (`rpabank codebank sync`): every bot and the principles, each in its own
transaction. The scheduled sync of a running service goes through the job runner instead (service.jobs)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codebank.models import Bot
from codebank.services import BotService, CodebankConfig, PrincipleService

log = logging.getLogger("rpabank.sync")


async def sync_all(config: CodebankConfig, sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """Sync each bot in its own transaction (one failing repository does not stop the others)."""
    async with sessions() as session:
        slugs = list((await session.scalars(select(Bot.slug).order_by(Bot.slug))).all())
    done = []
    for slug in slugs:
        async with sessions() as session:
            try:
                await BotService(session, config).sync(None, slug)
                await session.commit()
                done.append(slug)
            except Exception as exc:  # keep going; the bot shows its sync_error
                log.warning("sync of %s failed: %s", slug, exc)
    if config.principles_url:
        async with sessions() as session:
            try:
                await PrincipleService(session, config).sync()
                await session.commit()
            except Exception as exc:
                log.warning("principles sync failed: %s", exc)
    return done
