"""Page fixtures: a small site over the API (`site`), sign-in helpers, and the demo bank (`demo_bank`)."""

from __future__ import annotations

import contextlib
import html
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.cli import main
from service.demo import demo_settings
from service.settings import Settings
from tests.conftest import ADMIN_TOKEN, Api, SourceRepo, process_body, register_bot_sync

PID = "indhentning-af-boerne-og-straffeattester"


CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture
async def site(api: Api) -> Api:
    """Two processes, adopted by Greve and Køge."""
    body = process_body(
        owner_municipality="253",
        description="## Baggrund\nAttester indhentes ved **ansættelse**.\n\n<script>alert(1)</script>",
    )
    assert (await api.post("/api/processes", body)).status_code == 201
    other = process_body(
        "Betaling af tolkeregninger",
        summary="Robotten betaler tolkeregninger.",
        domain="oekonomi",
        owner_municipality="259",
        systems=["KMD Opus"],
        tags=[],
    )
    assert (await api.post("/api/processes", other)).status_code == 201
    for code, status in (("253", "operation"), ("259", "planned")):
        r = await api.put(
            f"/api/processes/{PID}/adoptions/{code}",
            {"status": status, "live_on": "2022-02-01", "bot": {"repo": "https://git.example/attest", "ref": "v1.2.0"}},
        )
        assert r.status_code == 201, r.text
    return api


async def csrf_of(api: Api, url: str = "/login") -> str:
    page = await api.client.get(url)
    match = CSRF.search(page.text)
    assert match, "the page has a CSRF field"
    return match.group(1)


async def sign_in(api: Api, who: str) -> Any:
    token = await csrf_of(api)
    return await api.client.post(
        "/login",
        data={"token": api.tokens[who], "next": f"/processes/{PID}", "_csrf_token": token},
        follow_redirects=False,
    )


def env(settings: Settings) -> dict[str, str]:
    return {
        "RPABANK_DATA_DIR": str(settings.data_dir),
        "RPABANK_DATABASE_URL": settings.effective_database_url,
        "RPABANK_ALLOW_LOCAL_REPOS": "1",
    }


def hostile_repo(root: Path) -> SourceRepo:
    """A bot with a symlink pointing out of the repository, a submodule and a binary file."""
    repo = SourceRepo(root / "genveje")
    secret = root / "hemmelig.txt"
    secret.write_text("TOPHEMMELIGT-INDHOLD")
    repo.commit(
        {"README.md": "# Genvejs-robotten\n\nTester genveje.\n", "src/main.py": "print('hej')\n"}, "first", tag="v0.1.0"
    )
    (repo.path / "link").symlink_to(secret)
    first = repo.git("rev-parse", "HEAD")
    repo.commit({"logo.png": b"\x89PNG\r\n\x1a\n\0\0\0"}, "link and logo")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{first},vendor/lib")
    repo.git("commit", "-q", "-m", "submodule")
    return repo


@pytest.fixture(scope="package")
def demo_bank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    """The demo bank (SQLite) plus one hostile bot, behind one test client for every page test that reads it."""
    root = tmp_path_factory.mktemp("codebank-pages")
    settings = Settings(data_dir=root / "data", admin_token=ADMIN_TOKEN)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["demo", "--no-serve"], env(settings)) == 0
    repo = hostile_repo(root / "origin")
    with TestClient(create_app(demo_settings(settings))) as client:
        assert register_bot_sync(client, repo.url)["status"] == "done"
        yield client


BOT = "straffeattest-robot"


POLITI = "src/straffeattest_robot/politi.py"


def text_of(page: str) -> str:
    """The page as a person reads it: tags out, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
