"""Registering an adoption with its bot is one flow, whether it comes from the API or the pages."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Api, SourceRepo, process_body

PID = "indhentning-af-boerne-og-straffeattester"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def _signed_in_csrf(api: Api, who: str) -> str:
    login = await api.client.get("/login")
    token = CSRF.search(login.text)
    assert token
    r = await api.client.post(
        "/login", data={"token": api.tokens[who], "next": "/", "_csrf_token": token.group(1)}, follow_redirects=False
    )
    assert r.status_code == 303
    page = await api.client.get(f"/processes/{PID}")
    token = CSRF.search(page.text)
    assert token
    return token.group(1)


async def _registered_bot(api: Api, source: SourceRepo) -> dict[str, Any]:
    assert (await api.post("/api/processes", process_body(), who="editor_253")).status_code == 201
    r = await api.register_bot({"url": source.url}, who="editor_253")
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_adoption_form_links_the_registered_bot(api: Api, source: SourceRepo) -> None:
    bot = await _registered_bot(api, source)
    csrf = await _signed_in_csrf(api, "editor_376")
    r = await api.client.post(
        f"/processes/{PID}/adoption",
        data={"_csrf_token": csrf, "status": "operation", "bot_repo": bot["slug"], "bot_ref": "v1.0.0"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    adoption = (await api.get(f"/api/processes/{PID}/adoptions/376")).json()
    assert adoption["bot"]["slug"] == bot["slug"]
    assert adoption["bot"]["ref"] == "v1.0.0"
    runs = (await api.get(f"/api/bots/{bot['slug']}")).json()["runs"]
    assert [(run["municipality"], run["ref"]) for run in runs] == [("376", "v1.0.0")]


async def test_the_adoption_form_refuses_a_version_the_bot_does_not_have(api: Api, source: SourceRepo) -> None:
    bot = await _registered_bot(api, source)
    csrf = await _signed_in_csrf(api, "editor_376")
    r = await api.client.post(
        f"/processes/{PID}/adoption",
        data={"_csrf_token": csrf, "status": "operation", "bot_repo": bot["slug"], "bot_ref": "v9.9.9"},
    )
    assert r.status_code == 422
    assert re.search(r'id="f-ref"[^>]*aria-invalid="true"', r.text)
    assert 'id="err-bot_ref"' in r.text and "v9.9.9" in r.text
    assert (await api.get(f"/api/processes/{PID}/adoptions/376")).status_code == 404  # nothing was written


async def test_the_adoption_form_offers_the_registered_bots_and_their_versions(api: Api, source: SourceRepo) -> None:
    bot = await _registered_bot(api, source)
    await _signed_in_csrf(api, "editor_376")
    page = (await api.client.get(f"/processes/{PID}")).text
    assert f'<option value="{bot["slug"]}">{bot["name"]}</option>' in page  # the bot, by its name
    assert f'<option value="v1.0.0">{bot["name"]} v1.0.0</option>' in page  # and its versions
    assert 'list="dl-bots"' in page and 'list="dl-refs"' in page
