"""OpenID Connect sign-in against a real provider (the npm `oidc-provider`, started by these tests on loopback):
the whole flow through the provider's own login page, the municipality and role from the claims, a person the
claims place nowhere, a replayed or forged state, ID tokens with the wrong audience, expired or badly signed,
sign-out at the provider, and deactivation ending a session at once. The last test does it in a real browser."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from service.oidc import OidcClient, SignInFailed, identify
from service.settings import OidcSettings, Settings
from tests.conftest import ADMIN_TOKEN, Api, serving
from tests.service.oidc_peer import CLIENT_ID, CLIENT_SECRET, Provider, free_port, running_provider, sign_in_at_provider

BASE = "http://rpabank.test"
BROWSER_PORT = free_port()
ACCOUNTS: dict[str, dict[str, Any]] = {
    "mette": {"name": "Mette Lund", "email": "mette.lund@greve.dk", "groups": ["rpa-redaktoerer"]},
    "sekretariat": {"name": "Sanne Sekretær", "email": "sanne@kl.dk", "groups": ["rpa-admins"]},
    "ole": {"name": "Ole Olsen", "email": "ole@koege.dk"},
    "ukendt": {"name": "Uma Ukendt", "email": "uma@firma.dk"},
    "claim": {"name": "Carl Claim", "email": "carl@privat.dk", "municipality": "376", "groups": ["rpa-redaktoerer"]},
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    uris = [f"{BASE}/login/oidc/callback", f"http://127.0.0.1:{BROWSER_PORT}/login/oidc/callback"]
    with running_provider(tmp_path_factory.mktemp("oidc"), uris, ACCOUNTS) as p:
        yield p


def oidc_settings(provider: Provider) -> OidcSettings:
    return OidcSettings(
        issuer=provider.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        name="Testkommunernes login",
        scopes="openid email profile groups municipality",
        municipality_claim="municipality",
        domains=(("greve.dk", "253"), ("koege.dk", "259")),
        admin_group="rpa-admins",
        editor_group="rpa-redaktoerer",
    )


@pytest.fixture
def settings(data_dir: Path, database_url: str, provider: Provider) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        oidc=oidc_settings(provider),
        base_url=BASE,
        contact="sekretariatet på rpa@kl.dk",
    )


@pytest.fixture
async def api(api: Api) -> Api:
    """The usual API, its client not following redirects: the tests follow the person between app and provider."""
    api.client.follow_redirects = False
    return api


@pytest.fixture(autouse=True)
def accounts(provider: Provider) -> Iterator[None]:
    provider.set_accounts(ACCOUNTS)
    yield
    provider.set_accounts(ACCOUNTS)


async def sign_in(api: Api, login: str, next: str = "/dashboard") -> Any:
    """The person `login` signs in: the app sends them to the provider, they sign in there, the provider sends
    them back. Returns the app's answer to the return."""
    start = await api.client.get(f"/login/oidc?next={next}")
    assert start.status_code == 303
    back = await sign_in_at_provider(start.headers["location"], login)
    assert back.startswith(f"{BASE}/login/oidc/callback?")
    return await api.client.get(back.removeprefix(BASE))


async def people(api: Api) -> dict[str, dict[str, Any]]:
    return {u["email"]: u for u in (await api.get("/api/users", who="admin")).json()}


async def test_login_page_offers_the_provider(api: Api) -> None:
    page = await api.client.get("/login")
    assert "Log ind med Testkommunernes login" in page.text
    assert 'name="token"' in page.text  # the token form stays for administrators


async def test_the_authorization_request_uses_pkce_state_and_nonce(api: Api, provider: Provider) -> None:
    start = await api.client.get("/login/oidc")
    assert start.status_code == 303, start.text
    url = urlsplit(start.headers["location"])
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}" == provider.url
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["redirect_uri"] == [f"{BASE}/login/oidc/callback"]
    assert "state" not in start.headers.get("set-cookie", "").lower()  # the cookie is encrypted


async def test_an_editor_signs_in_with_municipality_from_the_email_domain(api: Api) -> None:
    back = await sign_in(api, "mette", next="/dashboard")
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/dashboard"
    page = await api.client.get("/dashboard")
    assert "Mette Lund" in page.text
    mette = (await people(api))["mette.lund@greve.dk"]
    assert (mette["name"], mette["municipality"], mette["role"], mette["active"]) == (
        "Mette Lund",
        "253",
        "editor",
        True,
    )
    assert mette["last_login_at"]


async def test_the_session_holds_no_secret(api: Api) -> None:
    await sign_in(api, "mette")
    cookie = api.client.cookies.get("rpabank_session") or ""
    assert cookie and "Mette" not in cookie and "rpab_" not in cookie
    assert len(cookie) < 300  # the user id and its epoch, encrypted: no room for an ID token or a token secret


async def test_roles_come_from_groups_and_the_municipality_from_a_claim(api: Api) -> None:
    await sign_in(api, "sekretariat")
    await sign_in(api, "ole")
    await sign_in(api, "claim")
    everyone = await people(api)
    assert (everyone["sanne@kl.dk"]["role"], everyone["sanne@kl.dk"]["municipality"]) == ("admin", None)
    assert (everyone["ole@koege.dk"]["role"], everyone["ole@koege.dk"]["municipality"]) == ("reader", "259")
    assert (everyone["carl@privat.dk"]["role"], everyone["carl@privat.dk"]["municipality"]) == ("editor", "376")


async def test_a_later_sign_in_updates_name_and_email(api: Api, provider: Provider) -> None:
    await sign_in(api, "mette")
    provider.set_accounts(
        {**ACCOUNTS, "mette": {**ACCOUNTS["mette"], "name": "Mette Lund Hansen", "email": "mlh@greve.dk"}}
    )
    await sign_in(api, "mette")
    everyone = await people(api)
    assert "mette.lund@greve.dk" not in everyone
    assert everyone["mlh@greve.dk"]["name"] == "Mette Lund Hansen"
    assert len(everyone) == 1


async def test_a_role_set_by_an_admin_outlasts_the_groups(api: Api) -> None:
    await sign_in(api, "ole")
    ole = (await people(api))["ole@koege.dk"]
    assert (await api.patch(f"/api/users/{ole['id']}", {"role": "editor"}, who="admin")).status_code == 200
    await sign_in(api, "ole")
    assert (await people(api))["ole@koege.dk"]["role"] == "editor"


async def test_a_person_without_a_municipality_gets_a_danish_page(api: Api) -> None:
    back = await sign_in(api, "ukendt")
    assert back.status_code == 403
    assert "Vi ved ikke, hvilken kommune du hører til" in back.text
    assert "sekretariatet på rpa@kl.dk" in back.text and "uma@firma.dk" in back.text
    assert "Uma Ukendt" not in (await api.client.get("/")).text  # not signed in
    # recorded, so that the secretariat can place them
    uma = (await people(api))["uma@firma.dk"]
    assert uma["municipality"] is None
    assert (await api.patch(f"/api/users/{uma['id']}", {"municipality": "253"}, who="admin")).status_code == 200
    assert (await sign_in(api, "ukendt")).status_code == 303


async def test_a_replayed_answer_is_refused(api: Api) -> None:
    start = await api.client.get("/login/oidc")
    back = await sign_in_at_provider(start.headers["location"], "mette")
    first = await api.client.get(back.removeprefix(BASE))
    assert first.status_code == 303
    await api.client.post("/logout", data={"_csrf_token": await csrf(api)})
    replay = await api.client.get(back.removeprefix(BASE))
    assert replay.status_code == 400
    assert "Log ind er udløbet" in replay.text
    assert "Mette Lund" not in (await api.client.get("/")).text


async def test_a_forged_state_is_refused(api: Api) -> None:
    start = await api.client.get("/login/oidc")
    back = await sign_in_at_provider(start.headers["location"], "mette")
    forged = re.sub(r"state=[^&]+", "state=forged-state-value", back.removeprefix(BASE))
    r = await api.client.get(forged)
    assert r.status_code == 400
    assert "Log ind mislykkedes" in r.text
    assert "Mette Lund" not in (await api.client.get("/")).text


async def csrf(api: Api) -> str:
    page = await api.client.get("/login")
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


async def test_sign_out_ends_the_session_and_offers_the_providers_end_session(api: Api, provider: Provider) -> None:
    await sign_in(api, "mette")
    r = await api.client.post("/logout", data={"_csrf_token": await csrf(api)})
    assert r.status_code == 303
    target = urlsplit(r.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == provider.url
    assert parse_qs(target.query)["post_logout_redirect_uri"] == [f"{BASE}/"]
    assert "Mette Lund" not in (await api.client.get("/dashboard")).text


async def test_deactivation_ends_a_session_at_once(api: Api) -> None:
    await sign_in(api, "mette")
    assert "Mette Lund" in (await api.client.get("/dashboard")).text
    mette = (await people(api))["mette.lund@greve.dk"]
    assert (await api.patch(f"/api/users/{mette['id']}", {"active": False}, who="admin")).status_code == 200
    assert "Mette Lund" not in (await api.client.get("/dashboard")).text
    # and a deactivated person cannot sign in again
    await sign_in(api, "mette")
    assert "Mette Lund" not in (await api.client.get("/dashboard")).text


async def test_a_signed_in_person_makes_a_token_on_mine_noegler(api: Api) -> None:
    await sign_in(api, "mette")
    page = await api.client.get("/me/tokens")
    assert page.status_code == 200
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    r = await api.client.post(
        "/me/tokens",
        data={
            "_csrf_token": token.group(1),
            "name": "Robot: sygedagpenge",
            "expires_at": "2099-12-31",
            "role": "editor",
        },
    )
    assert r.status_code == 200
    secret = re.search(r'<code id="new-token">(rpab_[^<]+)</code>', r.text)
    assert secret
    api.tokens["robot"] = secret.group(1)
    me = (await api.get("/api/me", who="robot")).json()
    assert (me["name"], me["municipality"], me["role"]) == ("Mette Lund", "253", "editor")
    bad = await api.client.post("/me/tokens", data={"_csrf_token": token.group(1), "name": "", "expires_at": "31/12"})
    assert bad.status_code == 422
    assert "Skriv en dato" in bad.text


# ---------------------------------------------------------------- ID tokens the provider would never issue


def mint(provider: Provider, key: RSAKey | None = None, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": provider.url,
        "sub": "mette",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": "n-1",
        **claims,
    }
    return jwt.encode({"alg": "RS256", "kid": (key or provider.key).kid}, body, key or provider.key)


async def test_a_well_formed_id_token_verifies(provider: Provider) -> None:
    claims = await OidcClient(oidc_settings(provider)).verify(mint(provider), "n-1")
    assert claims["sub"] == "mette"


@pytest.mark.parametrize(
    ("case", "changes"),
    [
        ("wrong audience", {"aud": "another-client"}),
        ("expired", {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
        ("wrong issuer", {"iss": "http://evil.example"}),
        ("wrong nonce", {"nonce": "someone-elses"}),
    ],
)
async def test_a_bad_id_token_is_refused(provider: Provider, case: str, changes: dict[str, Any]) -> None:
    with pytest.raises(SignInFailed):
        await OidcClient(oidc_settings(provider)).verify(mint(provider, **changes), "n-1")


async def test_an_id_token_signed_by_another_key_is_refused(provider: Provider) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "rpabank-test"}, private=True)
    with pytest.raises(SignInFailed):
        await OidcClient(oidc_settings(provider)).verify(mint(provider, key=stranger), "n-1")


def test_identify_reads_municipality_and_role(provider: Provider) -> None:
    s = oidc_settings(provider)
    base = {"iss": provider.url, "sub": "x"}
    assert identify({**base, "email": "a@Greve.dk"}, s).municipality == "253"
    assert identify({**base, "email": "a@greve.dk", "municipality": "376"}, s).municipality == "376"
    assert identify({**base, "email": "a@firma.dk"}, s).municipality is None
    assert identify({**base, "groups": ["rpa-admins", "rpa-redaktoerer"]}, s).role == "admin"
    assert identify({**base, "groups": "rpa-redaktoerer"}, s).role == "editor"
    assert identify(base, s).role == "reader"


# ---------------------------------------------------------------- in a real browser


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def live(provider: Provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server on the demo data with sign-in through the provider."""
    import contextlib
    import io

    from service.app import create_app
    from service.cli import main

    data = tmp_path_factory.mktemp("oidc-browser") / "data"
    env = {"RPABANK_DATA_DIR": str(data), "RPABANK_SESSION_SECRET": "oidc-browser-secret"}
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["demo", "--no-serve"], env) == 0
    base = f"http://127.0.0.1:{BROWSER_PORT}"
    settings = Settings.from_env(env)
    settings = Settings(**{**settings.__dict__, "oidc": oidc_settings(provider), "base_url": base})
    with serving(create_app(settings), port=BROWSER_PORT) as url:
        yield url


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing: install Debian's chromium")
def test_sign_in_and_out_in_a_browser(live: str, provider: Provider) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"], headless=True)
        try:
            page = browser.new_page(locale="da-DK")
            page.set_default_timeout(15_000)
            page.goto(live + "/dashboard")
            page.get_by_role("link", name="Log ind").first.click()
            page.get_by_role("link", name="Log ind med Testkommunernes login").click()
            # the provider's own login page
            sync_api.expect(page).to_have_url(re.compile(rf"^{re.escape(provider.url)}/interaction/"))
            page.locator("input[name=login]").fill("mette")
            page.locator("input[name=password]").fill("hemmeligt")
            page.get_by_role("button", name="Sign-in").click()
            page.get_by_role("button", name="Continue").click()  # consent
            sync_api.expect(page).to_have_url(live + "/dashboard")
            sync_api.expect(page.locator(".who")).to_have_text("Mette Lund")
            page.get_by_role("link", name="Mine nøgler").click()
            sync_api.expect(page.locator("h1")).to_have_text("Mine nøgler")
            page.get_by_role("button", name="Log ud").click()
            # the provider asks whether to sign out there too
            sync_api.expect(page).to_have_url(re.compile(rf"^{re.escape(provider.url)}/session/end"))
            page.get_by_role("button", name=re.compile("Yes", re.I)).click()
            sync_api.expect(page).to_have_url(live + "/")
            sync_api.expect(page.get_by_role("link", name="Log ind")).to_be_visible()
        finally:
            browser.close()


async def test_a_sign_in_begun_on_one_instance_completes_on_another(api: Api, settings: Settings) -> None:
    """Two instances with the same RPABANK_SESSION_SECRET (here: the same settings, two apps): the browser's
    cookie carries the pending sign-in and then the person, so either instance serves either step."""
    from litestar.testing import AsyncTestClient

    from service.app import create_app

    start = await api.client.get("/login/oidc?next=/dashboard")
    back = await sign_in_at_provider(start.headers["location"], "mette")
    other = create_app(settings, migrate=False)
    async with AsyncTestClient(app=other) as b:
        b.follow_redirects = False
        b.cookies.update(api.client.cookies)
        done = await b.get(back.removeprefix(BASE))
        assert done.status_code == 303
        api.client.cookies.update(b.cookies)
    assert "Mette Lund" in (await api.client.get("/dashboard")).text  # and back on the first instance
