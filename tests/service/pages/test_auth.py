"""service.pages.auth: signing in and out with a token."""

from __future__ import annotations

from tests.conftest import Api
from tests.service.pages.conftest import PID, csrf_of, sign_in


async def test_sign_in_sets_a_safe_cookie_and_keeps_the_token_out_of_urls(site: Api) -> None:
    r = await sign_in(site, "editor_253")
    assert r.status_code == 303
    assert r.headers["location"] == f"/processes/{PID}"
    assert site.tokens["editor_253"] not in r.headers["location"]
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("rpabank_session="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert site.tokens["editor_253"] not in cookie  # encrypted and signed
    page = await site.client.get(f"/processes/{PID}")
    assert "editor_253 (253)" in page.text and "Gem anvendelse" in page.text
    assert site.tokens["editor_253"] not in page.text


async def test_login_form_uses_post_and_a_wrong_token_is_refused(site: Api) -> None:
    page = await site.client.get("/login")
    assert 'method="post"' in page.text and 'type="password"' in page.text
    token = await csrf_of(site)
    r = await site.client.post("/login", data={"token": "rpab_wrong", "_csrf_token": token})
    assert r.status_code == 400
    assert "ukendt, udløbet eller tilbagekaldt" in r.text
    assert "rpab_wrong" not in r.text


async def test_logout(site: Api) -> None:
    await sign_in(site, "editor_253")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "Gem anvendelse" not in (await site.client.get(f"/processes/{PID}")).text
