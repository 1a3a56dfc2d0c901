"""Following and commenting on bots: the catalogue's follow and comment services, with bots as targets, comments
rendered by the code bank's one safe Markdown renderer, and the news of a bot's new version.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue import comments, follows
from catalogue.models import Adoption
from catalogue.notify import Event, notify
from codebank.markdown import render
from codebank.models import Bot
from core.actors import Actor
from core.errors import NotFound


async def _bot(session: AsyncSession, slug: str) -> Bot:
    bot = await session.get(Bot, slug)
    if bot is None:
        raise NotFound(f"No bot called {slug!r}.", field="slug")
    return bot


async def _runners(session: AsyncSession, slug: str) -> list[str]:
    """The municipalities whose adoptions run the bot."""
    rows = await session.scalars(select(Adoption.municipality_code).where(Adoption.bot_slug == slug))
    return list(dict.fromkeys(rows.all()))


class FollowService(follows.FollowService):
    async def target_title(self, actor: Actor, kind: str, target: str) -> str:
        if kind == "bot":
            return (await _bot(self.session, target)).name
        return await super().target_title(actor, kind, target)


class CommentService(comments.CommentService):
    def render(self, body: str) -> str:
        return render(body)

    async def target(self, actor: Actor, kind: str, target_id: str) -> comments.Target:
        if kind == "bot":
            bot = await _bot(self.session, target_id)
            codes = [c for c in [bot.owner_municipality, *await _runners(self.session, bot.slug)] if c]
            return comments.Target("bot", bot.slug, bot.name, f"/bots/{bot.slug}", codes)
        return await super().target(actor, kind, target_id)


async def notify_new_versions(session: AsyncSession, bot: Bot, before: list[str], after: list[str]) -> int:
    """A bot has new version tags: its followers and the editors of municipalities that run it hear of it."""
    new = [t for t in after if t not in set(before)]
    if not new or not before:  # the first sync finds every tag: that is no news
        return 0
    codes = await _runners(session, bot.slug)
    return await notify(
        session,
        Event(
            kind="bot_version",
            title=f"{bot.name}: ny version {new[-1]}",
            url=f"/bots/{bot.slug}",
            targets=[("bot", bot.slug)],
            auto_codes=codes,
            auto_target=("bot", bot.slug),
            key=f"bot_version:{bot.slug}:{new[-1]}",
            webhook=("bot.version", {"bot": bot.slug, "version": new[-1], "versions": new}),
            webhook_codes=[c for c in [bot.owner_municipality, *codes] if c],
        ),
    )
