"""The whole demo — catalogue, benefits, code bank — in one place, for `rpabank demo`, tests and benchmarks."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.demo import load_demo
from codebank.demo import PRINCIPLES, register_demo
from core.db import create_engine, session_factories
from search.documents import Document
from service.db import upgrade
from service.indexing import collators
from service.settings import Settings


def demo_settings(settings: Settings) -> Settings:
    """The demo's code bank lives in local repositories in the data folder."""
    principles = settings.data_dir.resolve() / "demo-repos" / PRINCIPLES
    return replace(settings, allow_local_repos=True, principles_url=settings.principles_url or str(principles))


async def load_everything(session: AsyncSession, settings: Settings) -> dict[str, int]:
    """Load the demo catalogue and register the demo code bank (the caller commits)."""
    counts = await load_demo(session)
    counts.update(await register_demo(session, demo_settings(settings).codebank()))
    return counts


async def demo_documents(settings: Settings) -> list[Document]:
    """Load the demo into the (empty) database of `settings` and return every search document it makes."""
    settings = demo_settings(settings)
    if settings.is_sqlite:
        settings.ensure_data_dir()
    engine = create_engine(settings.effective_database_url)
    try:
        await upgrade(engine)
        reads, writes = session_factories(engine)
        async with writes() as session:
            await load_everything(session, settings)
            await session.commit()
        async with reads() as session:
            return [
                d for c in collators(settings.codebank()) async for chunk in c.all_documents(session) for d in chunk
            ]
    finally:
        await engine.dispose()
