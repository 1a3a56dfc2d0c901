"""service.pages.routes: the session cookie and CSRF protection of the pages (not of the API)."""

from __future__ import annotations

from tests.conftest import Api
from tests.service.pages.conftest import PID, csrf_of


async def test_posts_without_csrf_token_are_refused(site: Api) -> None:
    r = await site.client.post("/login", data={"token": site.tokens["editor_253"]})
    assert r.status_code == 403
    assert "text/html" in r.headers["content-type"]
    assert "rpabank_session" not in r.headers.get("set-cookie", "")
    await csrf_of(site)  # now there is a CSRF cookie, but a wrong field
    r = await site.client.post("/login", data={"token": site.tokens["editor_253"], "_csrf_token": "x" * 80})
    assert r.status_code == 403


async def test_api_writes_need_no_csrf_token(site: Api) -> None:
    await csrf_of(site)  # a browser-like client with the CSRF cookie
    r = await site.put(f"/api/processes/{PID}/adoptions/376", {"status": "interested"})
    assert r.status_code == 201
    assert "rpabank" not in r.headers.get("set-cookie", "")  # the API sets no cookies


async def test_a_forged_session_cookie_is_ignored(site: Api) -> None:
    site.client.cookies.set("rpabank_session", "bm9uc2Vuc2U=")
    r = await site.client.get(f"/processes/{PID}")
    assert r.status_code == 200 and "Gem anvendelse" not in r.text
