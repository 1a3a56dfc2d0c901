"""The page "Importér": upload, the preview with errors at their cells, then "Importér n rækker"."""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Api, serving
from tests.service.controllers.test_imports import GENERIC, xlsx
from tests.service.pages.conftest import csrf_of, sign_in

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def preview(api: Api, content: bytes, kind: str = "processes") -> tuple[int, str]:
    token = await csrf_of(api, "/import")
    r = await api.client.post(
        "/import", data={"kind": kind, "_csrf_token": token, "mapping": ""}, files={"file": ("ark.xlsx", content, XLSX)}
    )
    return r.status_code, r.text


async def test_preview_then_import_writes_the_rows(api: Api) -> None:
    await sign_in(api, "editor_253")
    status, page = await preview(api, xlsx(GENERIC))
    assert status == 200
    assert "2 oprettes" in page and "Importér 2 rækker" in page
    assert (await api.get("/api/processes")).json()["total"] == 0
    upload = re.search(r'name="upload" value="([^"]+)"', page)
    assert upload
    token = await csrf_of(api, "/import")
    r = await api.client.post(
        "/import/apply", data={"upload": upload.group(1), "kind": "processes", "mapping": "", "_csrf_token": token}
    )
    assert r.status_code == 200 and "2 oprettet" in r.text
    assert (await api.get("/api/processes")).json()["total"] == 2
    # the upload is gone once imported
    r = await api.client.post(
        "/import/apply", data={"upload": upload.group(1), "kind": "processes", "mapping": "", "_csrf_token": token}
    )
    assert r.status_code == 422 and "ikke gemt længere" in r.text


async def test_errors_show_at_their_cells_and_nothing_can_be_imported(api: Api) -> None:
    await sign_in(api, "editor_253")
    bad = [row[:] for row in GENERIC]
    bad[2][4] = "mange"
    status, page = await preview(api, xlsx(bad))
    assert status == 200
    assert 'class="cell-error" id="cell-E3"' in page and "expected a number, not &#39;mange&#39;" in page
    assert "1 med fejl" in page and "Importér" not in page.split("import-preview")[0].split("Forhåndsvisning")[1]


async def test_not_a_spreadsheet_is_shown_next_to_the_file_field(api: Api) -> None:
    await sign_in(api, "editor_253")
    status, page = await preview(api, b"\x89PNG\r\n\x1a\n\x00\x00")
    assert status == 422
    assert 'id="file-error"' in page and "neither an Excel workbook" in page


async def test_another_persons_upload_cannot_be_imported(api: Api) -> None:
    await sign_in(api, "editor_253")
    _, page = await preview(api, xlsx(GENERIC))
    upload = re.search(r'name="upload" value="([^"]+)"', page)
    assert upload
    await api.client.post("/logout", data={"_csrf_token": await csrf_of(api, "/import")})
    await sign_in(api, "editor_376")
    token = await csrf_of(api, "/import")
    r = await api.client.post(
        "/import/apply", data={"upload": upload.group(1), "kind": "processes", "_csrf_token": token}
    )
    assert r.status_code == 422
    assert (await api.get("/api/processes")).json()["total"] == 0


async def test_readers_are_told_they_cannot_import(api: Api) -> None:
    await api.token("reader", "reader", "253")
    await sign_in(api, "reader")
    r = await api.client.get("/import")
    assert r.status_code == 403 and "Kun redaktører og administratorer" in r.text


async def test_signed_out_people_are_sent_to_sign_in(api: Api) -> None:
    r = await api.client.get("/import", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/import"


# ---------------------------------------------------------------- in a real browser (Debian's Chromium)

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Greve (253) with an editor token, served by uvicorn on an empty SQLite catalogue."""
    from catalogue.schemas import MunicipalityCreate
    from catalogue.services import MunicipalityService
    from core.actors import Actor
    from service.app import create_app
    from service.cli import in_session, main
    from service.settings import Settings

    data = tmp_path_factory.mktemp("import-browser") / "data"
    env = {"RPABANK_DATA_DIR": str(data), "RPABANK_SESSION_SECRET": "import-browser-secret"}
    settings = Settings.from_env(env)
    admin = Actor(role="admin", name="admin")
    in_session(settings, lambda s: MunicipalityService(s).create(admin, MunicipalityCreate(code="253", name="Greve")))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["token", "create", "--role", "editor", "--municipality", "253", "--name", "Greve"], env) == 0
    with serving(create_app(settings)) as url:
        yield {"url": url, "token": out.getvalue().strip().splitlines()[-1]}


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing: install Debian's chromium")
def test_import_in_the_browser_preview_fix_and_import(server: dict[str, str], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    bad = [row[:] for row in GENERIC]
    bad[2][4] = "mange"
    (tmp_path / "fejl.xlsx").write_bytes(xlsx(bad))
    (tmp_path / "rettet.xlsx").write_bytes(xlsx(GENERIC))
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True)
        try:
            page = browser.new_context(locale="da-DK", java_script_enabled=False).new_page()  # works without JS
            page.set_default_timeout(15_000)
            page.goto(server["url"] + "/login")
            page.get_by_label("Nøgle").fill(server["token"])
            page.get_by_role("button", name="Log ind").click()
            page.get_by_role("link", name="Importér").click()
            page.locator("#file").set_input_files(str(tmp_path / "fejl.xlsx"))
            page.get_by_role("button", name="Vis hvad der vil ske").click()
            cell = page.locator("#cell-E3")
            sync_api.expect(cell).to_contain_text("expected a number, not 'mange'")
            sync_api.expect(page.locator("#import-summary")).to_contain_text("1 med fejl")
            sync_api.expect(page.locator("#import-apply")).to_have_count(0)

            page.locator("#file").set_input_files(str(tmp_path / "rettet.xlsx"))
            page.get_by_role("button", name="Vis hvad der vil ske").click()
            page.get_by_role("button", name="Importér 2 rækker").click()
            sync_api.expect(page.locator("#import-done")).to_contain_text("2 oprettet")
            page.goto(server["url"] + "/processes/udbetaling-af-tolkeregninger")
            sync_api.expect(page.locator("h1")).to_contain_text("Udbetaling af tolkeregninger")
        finally:
            browser.close()
