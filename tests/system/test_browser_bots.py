"""In Chromium, without JavaScript help beyond what the pages carry: an editor registers a bot and follows the job
page to it, then removes one of the municipality's adoptions after confirming. Screenshots at 1280 and 390 px
of each new page go to tests/system/_artifacts/screenshots/."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import SourceRepo, serving
from tests.system.test_browser import SHOTS, SIZES, _sign_in, chromium, sync_api


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The demo with local repositories allowed, an editor token for Guldborgsund (376), a live server and a
    repository to register."""
    from service.app import create_app
    from service.cli import main
    from service.settings import Settings

    root = tmp_path_factory.mktemp("browser-bots")
    env = {
        "RPABANK_DATA_DIR": str(root / "data"),
        "RPABANK_SESSION_SECRET": "browser-bots-secret",
        "RPABANK_ALLOW_LOCAL_REPOS": "1",
    }
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["demo", "--no-serve"], env) == 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert (
            main(["token", "create", "--role", "editor", "--municipality", "376", "--name", "Guldborgsund"], env) == 0
        )
    repo = SourceRepo(root / "origin" / "sagsbehandler-robot")
    repo.commit(
        {"README.md": "# Sagsbehandler-robotten\n\nHenter sager.\n", "src/robot.py": "def start():\n    pass\n"}
    )
    repo.git("tag", "v1.0.0")
    with serving(create_app(Settings.from_env(env))) as url:
        yield {"url": url, "token": out.getvalue().strip().splitlines()[-1], "repo": str(repo.path)}


@pytest.fixture(scope="module")
def browser(bank: dict[str, str]) -> Iterator[Any]:
    with chromium() as b:
        yield b


def shots(browser: Any, bank: dict[str, str], name: str, path: str) -> None:
    """Screenshots of one page at both widths, signed in."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height}, locale="da-DK")
        p = context.new_page()
        _sign_in(p, bank, bank["token"])
        p.goto(bank["url"] + path)
        p.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
        context.close()


def test_an_editor_registers_a_bot_and_removes_an_adoption(browser: Any, bank: dict[str, str]) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
    page = context.new_page()
    page.set_default_timeout(20_000)
    _sign_in(page, bank, bank["token"])

    page.goto(bank["url"] + "/bots")
    page.get_by_role("link", name="Registrér en robot").click()
    page.get_by_label("Repositoriets adresse").fill("http://github.com/kommune/robot")
    page.get_by_role("button", name="Registrér robotten").click()
    sync_api.expect(page.locator("#err-url")).to_contain_text("Adressen skal begynde med https://")
    page.screenshot(path=str(SHOTS / "bot-new-errors-desktop.png"), full_page=True)

    page.get_by_label("Repositoriets adresse").fill(bank["repo"])
    page.get_by_label("Processen, robotten automatiserer (valgfrit)").fill("")
    page.get_by_role("button", name="Registrér robotten").click()
    page.screenshot(path=str(SHOTS / "bot-job-desktop.png"), full_page=True)
    # the job page reloads itself until the job is done
    sync_api.expect(page.get_by_role("heading", name="Robotten er registreret")).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="Gå til robotten").click()
    sync_api.expect(page.locator("header.page-head h1")).to_have_text("Sagsbehandler-robotten")
    sync_api.expect(page.get_by_role("button", name="Synkronisér nu")).to_be_visible()
    bot_url = page.url

    process = "/processes/udrejseregistrering-undgaa-spoegelsesborgere"
    page.goto(bank["url"] + process)
    page.locator("#anvendelse").get_by_role("link", name="Fjern").first.click()
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text("Fjern Guldborgsunds anvendelse?")
    page.get_by_role("button", name="Ja, fjern anvendelsen").click()
    sync_api.expect(page.locator("body")).to_contain_text("Anvendelsen er fjernet.")
    context.close()

    for name, path in {
        "bot-new": "/bots/new",
        "bot-page": bot_url.removeprefix(bank["url"]),
        "adoption-remove": "/processes/midlertidig-adgang-for-vikarer-i-kmd-nexus/adoptions/376/remove",
        "benefit-remove": "/processes/indhentning-af-boerne-og-straffeattester/benefits/376/2024/remove",
        "dashboard-figures": "/dashboard",
        "forside-ny": "/",
    }.items():
        shots(browser, bank, name, path)
    assert all((SHOTS / f"{name}-{size}.png").exists() for name in ("bot-new", "benefit-remove") for size in SIZES)
