"""codebank.services: one spelling of a repository URL for webhooks, the principles repository synced with
`rpabank codebank sync` keeping the last valid version of a principle, and git and file side effects that
happen only when the database change commits."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient

from catalogue.schemas import MunicipalityCreate
from catalogue.services import MunicipalityService
from codebank.schemas import BotCreate
from codebank.services import BotService, CodebankConfig, normalise_url
from core.actors import Actor
from core.db import create_engine, session_factories
from service.app import create_app
from service.cli import main
from service.settings import Settings
from tests.conftest import SourceRepo


def env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "RPABANK_DATA_DIR": str(settings.data_dir),
        "RPABANK_DATABASE_URL": settings.effective_database_url,
        "RPABANK_ALLOW_LOCAL_REPOS": "1",
        **extra,
    }


def test_webhook_urls_normalise_to_one_spelling() -> None:
    spellings = [
        "https://Git.Example.dk/kommune/robot.git",
        "https://git.example.dk/kommune/robot/",
        "git@git.example.dk:kommune/robot.git",
        "ssh://git@git.example.dk/kommune/robot",
    ]
    assert len({normalise_url(u) for u in spellings}) == 1
    # a payload's URL that Python cannot read (a sender's, unchecked) matches no bot instead of failing the hook
    assert normalise_url("https://[git.example.dk/kommune/robot") == "https://[git.example.dk/kommune/robot"


def test_principles_sync_keeps_the_last_valid_version(settings: Settings, tmp_path: Path) -> None:
    repo = SourceRepo(tmp_path / "principper")
    repo.commit(
        {
            "kø.md": "---\nid: koe\ntitle: Kø-håndtering\ncategory: Drift\ntags: [kø]\n---\n# Kø\nBrug køer.\n",
            "logning.md": "---\nid: logning\ntitle: Logning uden CPR\n---\nLog aldrig CPR-numre.\n",
            "README.md": "# Principper\n",
        }
    )
    variables = env(settings, RPABANK_PRINCIPLES_URL=repo.url)
    assert main(["codebank", "sync"], variables) == 0
    with TestClient(create_app(Settings.from_env(variables))) as client:
        listed = client.get("/api/principles").json()
        assert [p["id"] for p in listed] == ["koe", "logning"] or {p["id"] for p in listed} == {"koe", "logning"}
        koe = client.get("/api/principles/koe").json()
        assert koe["title"] == "Kø-håndtering" and "<h1" in koe["html"] and koe["source"].startswith("---")
        assert client.get("/api/search?q=køer&type=principle").json()["hits"][0]["id"] == "koe"
    repo.commit({"kø.md": "---\nid: koe\ntitle: [brudt\n---\nNy tekst\n"}, "broken")
    assert main(["codebank", "sync"], variables) == 0
    with TestClient(create_app(Settings.from_env(variables))) as client:
        koe = client.get("/api/principles/koe").json()
        assert koe["title"] == "Kø-håndtering" and "Brug køer" in koe["html"]  # the last valid version
        assert "not valid YAML" in koe["error"]
        assert client.get("/api/principles/findes-ikke").status_code == 404


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
