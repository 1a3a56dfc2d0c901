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


async def test_a_token_session_ends_when_the_token_is_revoked(site: Api) -> None:
    await site.person("mette", "editor", "253")
    await sign_in(site, "mette")
    assert "Gem anvendelse" in (await site.client.get(f"/processes/{PID}")).text
    mine = (await site.get("/api/tokens", who="mette")).json()[0]["id"]
    assert (await site.delete(f"/api/tokens/{mine}", who="admin")).status_code == 204
    page = await site.client.get(f"/processes/{PID}")
    assert "Gem anvendelse" not in page.text and "Log ind" in page.text


async def test_a_reader_sees_no_edit_forms_and_cannot_post_them(site: Api) -> None:
    await site.person("rita", "reader", "253")
    await sign_in(site, "rita")
    page = await site.client.get(f"/processes/{PID}")
    assert "Rita" in page.text
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(
        f"/processes/{PID}/adoption", data={"_csrf_token": token, "municipality": "253", "status": "planned"}
    )
    assert r.status_code == 422
    assert "Du er læser" in r.text
    adoptions = (await site.get(f"/api/processes/{PID}/adoptions")).json()
    assert [a["status"] for a in adoptions if a["municipality"] == "253"] != ["planned"]


async def test_the_secretariat_page_changes_a_person(site: Api) -> None:
    ole = await site.person("ole", "reader", "259")
    await sign_in(site, "admin")
    page = await site.client.get("/admin/users")
    assert page.status_code == 200 and "Ole" in page.text
    token = await csrf_of(site, "/admin/users")
    r = await site.client.post(
        f"/admin/users/{ole}",
        data={"_csrf_token": token, "role": "editor", "municipality": "259", "active": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    users = (await site.get("/api/users", who="admin")).json()
    assert [(u["role"], u["role_source"]) for u in users] == [("editor", "admin")]


async def test_the_secretariat_page_is_for_admins(site: Api) -> None:
    await sign_in(site, "editor_253")
    assert (await site.client.get("/admin/users")).status_code == 403


async def test_token_login_can_be_switched_off(site: Api) -> None:
    settings = site.client.app.state.settings
    site.client.app.state.settings = type(settings)(**{**settings.__dict__, "token_login": False})
    try:
        page = await site.client.get("/login")
        assert 'name="token"' not in page.text
        assert "Der er ikke sat nogen måde at logge ind på op" in page.text
        token = site.client.cookies["rpabank_csrf"]  # the form's CSRF field holds the cookie's value
        r = await site.client.post("/login", data={"token": site.tokens["editor_253"], "_csrf_token": token})
        assert r.status_code == 404
    finally:
        site.client.app.state.settings = settings


async def test_signing_out_ends_a_copied_cookie_too(site: Api) -> None:
    await sign_in(site, "editor_253")
    copied = dict(site.client.cookies)
    token = await csrf_of(site, f"/processes/{PID}")
    await site.client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    site.client.cookies.clear()
    site.client.cookies.update(copied)  # someone kept a copy of the signed-in cookie
    page = await site.client.get(f"/processes/{PID}")
    assert "Gem anvendelse" not in page.text and "editor_253" not in page.text
