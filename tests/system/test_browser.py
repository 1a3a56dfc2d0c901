"""The pages in a real browser (Playwright driving Debian's Chromium) against a real server on the demo data.

Also writes screenshots of every page at desktop and phone width to tests/system/_artifacts/screenshots/.
Without /usr/bin/chromium these tests skip and say so.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import serving

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parent / "_artifacts" / "screenshots"
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
PID = "indhentning-af-boerne-og-straffeattester"

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A data folder with the demo, an editor token for Guldborgsund (376) and a live server on it."""
    from service.app import create_app
    from service.cli import main
    from service.settings import Settings

    data = tmp_path_factory.mktemp("browser") / "data"
    env = {"RPABANK_DATA_DIR": str(data), "RPABANK_SESSION_SECRET": "browser-test-secret"}
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["demo", "--no-serve"], env) == 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert (
            main(["token", "create", "--role", "editor", "--municipality", "376", "--name", "Guldborgsund RPA"], env)
            == 0
        )
    token = out.getvalue().strip().splitlines()[-1]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["token", "create", "--role", "admin", "--name", "Sekretariatet"], env) == 0
    admin = out.getvalue().strip().splitlines()[-1]
    with serving(create_app(Settings.from_env(env))) as url:
        yield {"url": url, "token": token, "admin": admin, "data": str(data)}


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright."""
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def browser(demo: dict[str, str]) -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
    p = context.new_page()
    p.set_default_timeout(10_000)
    try:
        yield p
    finally:
        context.close()


def test_instant_search_shows_results_while_typing(page: Any, demo: dict[str, str]) -> None:
    page.goto(demo["url"] + "/")
    page.get_by_label("Søg", exact=True).press_sequentially("straffeattester", delay=20)
    hit = page.locator("#results .hit-title a", has_text="Indhentning af børne- og straffeattester")
    sync_api.expect(hit).to_be_visible()
    sync_api.expect(page).to_have_url(re.compile(r"/search\?q=straffeattester"))  # no submit: HTMX swapped it
    sync_api.expect(page.locator("#results mark").first).to_be_visible()


def test_clicking_a_facet_filters(page: Any, demo: dict[str, str]) -> None:
    page.goto(demo["url"] + "/search?q=betaling")
    before = page.locator(".hit").count()
    page.locator(".facet a", has_text="Økonomi").first.click()
    sync_api.expect(page).to_have_url(re.compile(r"domain=oekonomi"))
    sync_api.expect(page.locator(".chips .chip")).to_contain_text("Økonomi")
    after = page.locator(".hit").count()
    assert 0 < after <= before
    for badge in page.locator(".hit .badge").all_inner_texts():
        assert badge.upper() == "PROCES"


def test_process_page_lists_the_adopting_municipalities(page: Any, demo: dict[str, str]) -> None:
    page.goto(demo["url"] + "/search?q=tolkeregninger")
    page.locator(".hit-title a", has_text="Betaling af tolkeregninger").first.click()
    sync_api.expect(page.locator("h1")).to_have_text("Betaling af tolkeregninger")
    table = page.locator("#anvendelse table")
    sync_api.expect(table).to_be_visible()
    assert table.locator("tbody tr").count() >= 2
    sync_api.expect(table).to_contain_text("I drift")


def test_editor_signs_in_registers_an_adoption_and_reports_a_benefit(page: Any, demo: dict[str, str]) -> None:
    page.goto(demo["url"] + f"/processes/{PID}")
    page.get_by_role("link", name="Log ind").first.click()
    page.get_by_label("Nøgle").fill(demo["token"])
    page.get_by_role("button", name="Log ind").click()
    sync_api.expect(page).to_have_url(re.compile(rf"/processes/{PID}$"))
    assert demo["token"] not in page.url
    sync_api.expect(page.locator(".who")).to_contain_text("Guldborgsund RPA")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["rpabank_session"]["httpOnly"] and cookies["rpabank_session"]["sameSite"] == "Lax"

    page.locator("#anvendelse summary").click()
    page.get_by_label("Status", exact=True).select_option("operation")
    page.get_by_label("I drift siden").fill("2024-03-01")
    page.get_by_label("Robotversion (tag)").fill("v3.0.1")
    page.get_by_label("Robottens repository").fill("https://git.example/attester")
    page.get_by_role("button", name="Gem anvendelse").click()
    sync_api.expect(page.locator("#anvendelse .notice-ok")).to_have_text("Anvendelsen er gemt.")
    row = page.locator("#anvendelse tbody tr", has_text="Guldborgsund")
    sync_api.expect(row).to_contain_text("I drift")
    sync_api.expect(row).to_contain_text("v3.0.1")

    page.reload()  # the benefit form appears now that Guldborgsund runs the process
    page.locator("summary", has_text="Indberet realiseret gevinst").click()
    page.get_by_label("Periode").fill("2024")
    page.get_by_label("Behandlede sager").fill("900")
    page.get_by_label("Sparede minutter pr. sag").fill("4")
    page.get_by_role("button", name="Indberet gevinst").click()
    sync_api.expect(page.locator(".notice-ok", has_text="Gevinsten er indberettet")).to_be_visible()
    sync_api.expect(
        page.locator("#gevinst ~ .table-wrap, section table").filter(has_text="Guldborgsund").first
    ).to_contain_text("60,0")  # 900 cases × 4 min = 60 hours
    sync_api.expect(page.locator("svg.chart").first).to_be_visible()


def test_search_with_the_keyboard_only(page: Any, demo: dict[str, str]) -> None:
    page.goto(demo["url"] + "/")
    page.keyboard.press("Tab")
    sync_api.expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")  # skip to the content
    focused = ""
    for _ in range(3):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id")
        if focused == "q":
            break
    assert focused == "q", "the search field is reached with Tab right after the skip link"
    page.keyboard.type("tolk")
    page.keyboard.press("Enter")
    sync_api.expect(page).to_have_url(re.compile(r"q=tolk"))
    first = page.locator(".hit-title a").first
    sync_api.expect(first).to_be_visible()
    for _ in range(20):  # past the skip link, the menu, the search field and the facets' chips
        page.keyboard.press("Tab")
        if page.evaluate(
            "document.activeElement.closest('.hit-title') !== null && "
            "document.activeElement.getAttribute('href').startsWith('/processes/')"
        ):
            break
    title = page.evaluate("document.activeElement.textContent")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus is visible"
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("h1")).to_have_text(title.strip())


PAGES = {
    "forside": "/",
    "soegning": "/search?q=attest",
    "proces": f"/processes/{PID}",
    "kommune": "/municipalities/370",
    "kommuner": "/municipalities",
    "overblik": "/dashboard",
    "log-ind": "/login",
    "robotter": "/bots",
    "robot": "/bots/straffeattest-robot",
    "kode": "/bots/straffeattest-robot/blob?path=src/straffeattest_robot/politi.py#L12",
    "kodeprincipper": "/principles",
    "ikke-fundet": "/processes/findes-ikke",
}


@pytest.mark.parametrize("size", list(SIZES))
def test_screenshots_of_every_page(browser: Any, demo: dict[str, str], size: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="da-DK", device_scale_factor=1)
    try:
        p = context.new_page()
        for name, path in PAGES.items():
            response = p.goto(demo["url"] + path)
            assert response is not None
            assert response.status == (404 if name == "ikke-fundet" else 200), path
            p.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
            overflow = p.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{path} scrolls sideways at {size} width"
    finally:
        context.close()


def _sign_in(page: Any, demo: dict[str, str], token: str) -> None:
    page.goto(demo["url"] + "/login")
    page.get_by_label("Nøgle").fill(token)
    page.get_by_role("button", name="Log ind").click()


def test_propose_screen_and_decide_an_idea(page: Any, demo: dict[str, str]) -> None:
    _sign_in(page, demo, demo["token"])
    page.goto(demo["url"] + "/ideas")
    page.get_by_role("link", name="Foreslå en idé").click()
    page.get_by_label("Titel").press_sequentially("Indhentning af straffeattest", delay=10)
    sync_api.expect(page.locator("#similar")).to_contain_text("Findes den allerede?")  # while typing
    page.get_by_label("Titel").fill("Kontrol af kørselsgodtgørelse")
    page.get_by_label("Område").select_option("oekonomi")
    page.get_by_label("Hvad gøres i hånden i dag?").fill("Kørselsblanketter kontrolleres mod kalenderen.")
    page.get_by_label("Hvor ofte (sager pr. år)").fill("2.400")
    page.get_by_label("Hvor længe (minutter pr. sag)").fill("4,5")
    page.get_by_role("button", name="Foreslå idéen").click()
    sync_api.expect(page.locator("h1")).to_have_text("Kontrol af kørselsgodtgørelse")
    for fieldset in page.locator("#screening fieldset").all():
        fieldset.get_by_label("4").check()
    page.get_by_role("button", name="Gem screening").click()
    sync_api.expect(page.locator("#screening-score")).to_have_text("75,0")
    _sign_in(page, demo, demo["admin"])
    page.goto(demo["url"] + "/ideas")
    page.get_by_role("link", name="Kontrol af kørselsgodtgørelse").click()
    page.get_by_label("Beslutning", exact=True).select_option("approve")
    page.get_by_label("Bygges af (ved godkendelse)").select_option(label="Guldborgsund")
    page.get_by_role("button", name="Registrér beslutningen").click()
    sync_api.expect(page.locator(".decision")).to_contain_text("Godkendt")
    page.screenshot(path=str(SHOTS / "idea-desktop.png"), full_page=True)
