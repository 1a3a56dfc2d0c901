"""codebank.services: git and file side effects happen only when the database change commits."""

from __future__ import annotations

from pathlib import Path

from catalogue.schemas import MunicipalityCreate
from catalogue.services import MunicipalityService
from codebank.schemas import BotCreate
from codebank.services import BotService, CodebankConfig
from core.actors import Actor
from core.db import create_engine, session_factories
from service.settings import Settings
from tests.codebank.conftest import SourceRepo

ADMIN = Actor(role="admin", name="test")


def _leftovers(config: CodebankConfig) -> list[str]:
    return sorted(p.name for p in config.mirrors.iterdir()) if config.mirrors.exists() else []


async def test_a_registration_that_rolls_back_leaves_no_mirror_and_a_delete_that_rolls_back_keeps_it(
    settings: Settings, source: SourceRepo
) -> None:
    config = settings.codebank()
    engine = create_engine(settings.effective_database_url)
    _, writes = session_factories(engine)
    try:
        async with writes() as session:
            await MunicipalityService(session).create(ADMIN, MunicipalityCreate(code="253", name="Greve"))
            await session.commit()
        async with writes() as session:
            bot = await BotService(session, config).register(ADMIN, BotCreate(url=source.url))
            assert _leftovers(config) != []  # the clone exists while the transaction is open …
            await session.rollback()
        assert _leftovers(config) == []  # … and is gone with the rollback: no mirror, no staging folder

        async with writes() as session:
            bot = await BotService(session, config).register(ADMIN, BotCreate(url=source.url))
            await session.commit()
        mirror = config.mirror(bot.slug)
        assert (mirror / "HEAD").exists()
        assert _leftovers(config) == [mirror.name]

        async with writes() as session:
            await BotService(session, config).delete(ADMIN, bot.slug)
            await session.rollback()
        assert (mirror / "HEAD").exists()  # the delete did not happen, so neither did the mirror's removal

        async with writes() as session:
            await BotService(session, config).delete(ADMIN, bot.slug)
            await session.commit()
        assert not Path(mirror).exists()
        assert _leftovers(config) == []
    finally:
        await engine.dispose()
