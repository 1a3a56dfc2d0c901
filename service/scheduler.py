"""Scheduled code bank sync (RPABANK_SYNC_INTERVAL minutes): fetch every bot and the principles, then index
what changed. Webhooks make it mostly unnecessary; it catches hosts that cannot send them."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codebank.models import Bot
from codebank.services import BotService, CodebankConfig, PrincipleService
from service.indexing import Indexer

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


async def run_scheduled_sync(
    config: CodebankConfig, sessions: async_sessionmaker[AsyncSession], indexer: Indexer, minutes: float
) -> None:
    while True:
        await asyncio.sleep(minutes * 60)
        try:
            await sync_all(config, sessions)
            await indexer.drain()
        except Exception as exc:
            log.warning("scheduled sync: %s", exc)
