"""Describing, editing (with a conflict), copying and the Danish form messages in a real browser (Chromium via
Playwright) on the demo; screenshots of every new page at desktop and phone width in
tests/system/_artifacts/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.system.test_browser import PID, SHOTS, SIZES, browser, demo, page, sync_api  # noqa: F401

__all__ = ["browser", "demo", "page"]

OWN = "betaling-af-regninger-for-laegeerklaeringer"  # Guldborgsund's (376), the demo editor's municipality
NEXUS = "midlertidig-adgang-for-vikarer-i-kmd-nexus"  # Guldborgsund's too


def _sign_in(page: Any, demo: dict[str, str], token: str) -> None:  # noqa: F811
    page.goto(demo["url"] + "/login")
    page.get_by_label("Nøgle").fill(token)
    page.get_by_role("button", name="Log ind").click()
    sync_api.expect(page.locator(".who")).to_be_visible()


def _fill_required(page: Any, title: str) -> None:  # noqa: F811
    page.get_by_label("Titel").fill(title)
    page.get_by_label("Resumé").fill("Robotten udbetaler godtgørelse for kørsel i egen bil.")
    page.get_by_label("Område").select_option("oekonomi")


def test_an_editor_describes_a_process_and_sees_the_duplicate_warning(page: Any, demo: dict[str, str]) -> None:  # noqa: F811
    _sign_in(page, demo, demo["token"])
    page.get_by_role("link", name="Ny proces", exact=True).click()
    sync_api.expect(page.locator("h1")).to_have_text("Beskriv en ny proces")
    page.get_by_label("Titel").press_sequentially("Indhentning af straffeattester", delay=10)
    warning = page.locator("#similar")
    sync_api.expect(warning).to_contain_text("Findes den allerede?")  # while typing
    sync_api.expect(warning.locator(f'a[href="/processes/{PID}"]')).to_be_visible()
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"process-new-{size}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    _fill_required(page, "Udbetaling af kørselsgodtgørelse")
    page.get_by_label("Fase").select_option("development")
    page.get_by_label("IT-systemer 1").fill("KMD Opus")
    page.get_by_label("Sager pr. år").fill("1.200")
    page.get_by_label("Minutter pr. sag").fill("5,5")
    page.get_by_label("Automatiseringsgrad").fill("75 %")
    page.get_by_role("button", name="Gem processen").click()
    sync_api.expect(page.locator("h1")).to_have_text("Udbetaling af kørselsgodtgørelse")
    sync_api.expect(page.locator(".notice-ok")).to_have_text("Processen er gemt.")
    sync_api.expect(page.locator(".facts")).to_contain_text("KMD Opus")
    api = httpx.get(demo["url"] + "/api/processes/udbetaling-af-koerselsgodtgoerelse").json()
    assert (api["cases_per_year"], api["minutes_per_case"], api["automation_rate"]) == (1200, 5.5, 75)


def test_three_wrong_fields_show_three_danish_messages(page: Any, demo: dict[str, str]) -> None:  # noqa: F811
    _sign_in(page, demo, demo["token"])
    page.goto(demo["url"] + "/processes/new")
    _fill_required(page, "Kontrol af befordringsbilag")
    page.get_by_label("Sager pr. år").fill("mange")
    page.get_by_label("Minutter pr. sag").fill("-2")
    page.get_by_label("Automatiseringsgrad").fill("120 %")
    page.get_by_role("button", name="Gem processen").click()
    errors = page.locator(".field-error")
    sync_api.expect(errors).to_have_count(3)
    assert errors.all_inner_texts() == [
        "Sager pr. år skal være et helt tal, fx 1.200.",
        "Minutter pr. sag kan ikke være negativ.",
        "Automatiseringsgrad må højst være 100 %.",
    ]
    sync_api.expect(page.get_by_label("Sager pr. år")).to_have_value("mange")  # kept as typed
    sync_api.expect(page.get_by_label("Titel")).to_have_value("Kontrol af befordringsbilag")
    sync_api.expect(page.get_by_label("Sager pr. år")).to_have_attribute("aria-invalid", "true")
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"process-new-errors-{size}.png"), full_page=True)


def test_an_editor_edits_meets_a_conflict_and_reapplies(page: Any, demo: dict[str, str]) -> None:  # noqa: F811
    _sign_in(page, demo, demo["token"])
    page.goto(demo["url"] + f"/processes/{NEXUS}")
    page.get_by_role("link", name="Rediger").click()
    sync_api.expect(page.locator("h1")).to_have_text("Rediger processen")
    page.get_by_label("Resumé").fill("Mit resumé: vikarer får adgang i en uge.")
    # someone else saves in between
    auth = {"Authorization": f"Bearer {demo['admin']}"}
    etag = httpx.get(demo["url"] + f"/api/processes/{NEXUS}").headers["etag"]
    theirs = httpx.patch(
        demo["url"] + f"/api/processes/{NEXUS}",
        json={"summary": "Deres resumé: vikarer får adgang i to uger."},
        headers={**auth, "If-Match": etag},
    )
    assert theirs.status_code == 200, theirs.text
    page.get_by_role("button", name="Gem ændringerne").click()
    sync_api.expect(page.locator(".notice-error")).to_contain_text("En anden har gemt processen")
    row = page.locator("table.compare tr.differs")
    sync_api.expect(row).to_have_count(1)
    sync_api.expect(row).to_contain_text("Mit resumé: vikarer får adgang i en uge.")
    sync_api.expect(row).to_contain_text("Deres resumé: vikarer får adgang i to uger.")
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"process-edit-conflict-{size}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    assert httpx.get(demo["url"] + f"/api/processes/{NEXUS}").json()["summary"].startswith("Deres")  # not overwritten
    page.get_by_role("button", name=re.compile("Gem mine værdier oven på version")).click()
    sync_api.expect(page.locator(".lead")).to_have_text("Mit resumé: vikarer får adgang i en uge.")
    assert httpx.get(demo["url"] + f"/api/processes/{NEXUS}").json()["summary"].startswith("Mit")


def test_an_editor_copies_a_process_to_the_municipality(page: Any, demo: dict[str, str]) -> None:  # noqa: F811
    _sign_in(page, demo, demo["token"])
    page.goto(demo["url"] + f"/processes/{PID}")
    page.get_by_role("button", name="Kopiér til min kommune").click()
    sync_api.expect(page.locator("h1")).to_have_text("Indhentning af børne- og straffeattester (kopi fra Greve)")
    sync_api.expect(page.locator(".notice-ok")).to_contain_text("Kopien er lavet til din kommune")
    sync_api.expect(page.locator(".facts")).to_contain_text("Idé")
    sync_api.expect(page.locator(".facts a", has_text="Indhentning af børne- og straffeattester")).to_be_visible()


@pytest.mark.parametrize("size", list(SIZES))
def test_screenshots_of_the_new_pages(browser: Any, demo: dict[str, str], size: str) -> None:  # noqa: F811
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="da-DK", device_scale_factor=1)
    pages = {
        "process-edit": f"/processes/{OWN}/edit",
        "process-duplicate": f"/processes/{OWN}/duplicate?q=lægeattester",
        "process-retire": f"/processes/{OWN}/retire",
        "process-delete": f"/processes/{OWN}/delete",
        "process-actions": f"/processes/{OWN}",
    }
    try:
        p = context.new_page()
        _sign_in(p, demo, demo["admin"])
        for name, path in pages.items():
            response = p.goto(demo["url"] + path)
            assert response is not None and response.status == 200, path
            p.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
            overflow = p.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{path} scrolls sideways at {size} width"
    finally:
        context.close()
