"""Work that spans the catalogue and the code bank, as one flow that the API, the pages and imports all call."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.schemas import AdoptionRead, AdoptionWrite
from catalogue.services import AdoptionService
from codebank.services import BotService, CodebankConfig
from core.actors import Actor


async def register_adoption(
    session: AsyncSession, config: CodebankConfig, actor: Actor, process_id: str, code: str, data: AdoptionWrite
) -> tuple[AdoptionRead, bool]:
    """Register or replace a municipality's adoption of a process, with the bot it runs.

    A bot named by slug or URL that is registered in the code bank is linked, and its version must exist
    (422 naming `bot.ref` otherwise); an unregistered repository is kept as written. Returns (adoption, created).
    """
    actor.require_write_for(code, f"the adoption of municipality {code}")
    bot_slug = None
    if data.bot:
        bot_slug = await BotService(session, config).resolve_adoption_bot(data.bot.repo, data.bot.ref)
    return await AdoptionService(session).put(actor, process_id, code, data, bot_slug=bot_slug)
