"""Following, the bell, commenting and uploading in a real browser (Chromium via Playwright) on the demo."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalogue.tokens import hash_token
from tests.system.test_browser import PID, browser, demo, page, sync_api  # noqa: F401 - fixtures

__all__ = ["browser", "demo", "page"]


def _person(data_dir: Path, name: str, role: str, code: str) -> str:
    """A person with a personal token, written as a first sign-in and `POST /api/tokens` would; the secret."""
    secret = f"rpab_browser-{name}-0000000000000000000000"
    with sqlite3.connect(data_dir / "rpabank.sqlite3") as db:
        cur = db.execute(
            "INSERT INTO users (name, email, municipality_code, role, active, issuer, subject, role_source, "
            "session_epoch, created_at) VALUES (?, ?, ?, ?, 1, 'https://login.example.dk', ?, 'groups', 0, "
            "'2026-11-01 00:00:00')",
            (name, f"{name.lower()}@example.dk", code, role, name),
        )
        db.execute(
            "INSERT INTO api_tokens (name, role, municipality_code, token_hash, user_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, '2026-11-01 00:00:00')",
            (f"{name}'s token", role, code, hash_token(secret), cur.lastrowid),
        )
    return secret


@pytest.fixture(scope="module")
def people(demo: dict[str, str]) -> dict[str, str]:  # noqa: F811 - the imported fixture
    data = Path(demo["data"]) if "data" in demo else None
    if data is None:
        pytest.skip("the demo fixture does not say where its data folder is")
    return {"reader": _person(data, "Rita", "reader", "253"), "editor": _person(data, "Erik", "editor", "253")}


def _sign_in(page: Any, demo: dict[str, str], token: str) -> None:  # noqa: F811
    page.goto(demo["url"] + "/login")
    page.get_by_label("Nøgle").fill(token)
    page.get_by_role("button", name="Log ind").click()


def test_follow_the_bell_and_comment(page: Any, demo: dict[str, str], people: dict[str, str]) -> None:  # noqa: F811
    _sign_in(page, demo, people["reader"])
    page.goto(demo["url"] + f"/processes/{PID}")
    page.get_by_role("button", name="Følg").first.click()
    sync_api.expect(page.get_by_role("button", name="Følger ✓")).to_be_visible()
    sync_api.expect(page.locator(".bell-count")).to_have_text("0")

    with httpx.Client(base_url=demo["url"], headers={"Authorization": f"Bearer {demo['admin']}"}) as api:
        etag = api.get(f"/api/processes/{PID}").headers["etag"]
        r = api.patch(f"/api/processes/{PID}", json={"build_hours": 140}, headers={"If-Match": etag})
        assert r.status_code == 200
    page.reload()
    sync_api.expect(page.locator(".bell-count")).to_have_text("1")
    page.locator("a.bell").click()
    sync_api.expect(page.locator(".notification.unread")).to_contain_text("build_hours")
    page.get_by_role("button", name="Markér alle som læst").click()
    sync_api.expect(page.locator(".bell-count")).to_have_text("0")

    page.goto(demo["url"] + f"/processes/{PID}")
    page.get_by_label("Skriv en kommentar (Markdown)").fill("Kører den også med **MitID Erhverv**?")
    page.get_by_role("button", name="Kommentér").click()
    sync_api.expect(page.locator(".comment strong", has_text="MitID Erhverv")).to_be_visible()
    sync_api.expect(page.locator(".comment-head").last).to_contain_text("Rita")


def test_upload_a_document(
    page: Any,
    demo: dict[str, str],
    people: dict[str, str],
    tmp_path: Path,  # noqa: F811
) -> None:
    from tests.service.controllers.test_social_documents import make_pdf

    pdf = tmp_path / "procesdesign.pdf"
    pdf.write_bytes(make_pdf("Procesdesign for attester i browseren"))
    _sign_in(page, demo, people["editor"])
    page.goto(demo["url"] + f"/processes/{PID}")
    page.locator("summary", has_text="Upload et dokument").click()
    page.get_by_label("Fil (PDF").set_input_files(str(pdf))
    page.get_by_label("Titel", exact=True).fill("Procesdesign (PDD)")
    page.get_by_role("button", name="Upload").click()
    sync_api.expect(page.locator(".documents a", has_text="Procesdesign (PDD)")).to_be_visible()
