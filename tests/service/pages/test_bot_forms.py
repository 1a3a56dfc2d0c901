"""Registering and syncing a bot from the pages: a form with Danish messages next to the field, then the job's
page, which follows the background job (reloading itself, no JavaScript) to the bot or to a Danish failure."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest

from service.settings import Settings
from tests.conftest import Api, SourceRepo, code_bank_settings, process_body
from tests.service.pages.conftest import PID, csrf_of, sign_in


@pytest.fixture
def settings(settings: Settings) -> Settings:  # type: ignore[override]
    return dataclasses.replace(code_bank_settings(settings), git_connect_timeout=2)


async def follow(api: Api, location: str) -> str:
    """The job's page once the job has ended (as a browser reloading it would see it)."""
    for _ in range(400):
        page = await api.client.get(location)
        assert page.status_code == 200
        if 'http-equiv="refresh"' not in page.text:
            return str(page.text)
        await asyncio.sleep(0.05)
    raise AssertionError("the job did not end")


async def register(api: Api, url: str, process: str = "") -> object:
    token = await csrf_of(api, "/bots/new")
    return await api.client.post(
        "/bots/new", data={"_csrf_token": token, "url": url, "process": process}, follow_redirects=False
    )


async def test_an_editor_registers_a_bot_and_follows_it_to_the_bot(api: Api, source: SourceRepo) -> None:
    assert (await api.post("/api/processes", process_body(), who="editor_253")).status_code == 201
    assert (await sign_in(api, "editor_253")).status_code == 303
    form = await api.client.get("/bots/new")
    assert form.status_code == 200 and "Repositoriets adresse" in form.text
    assert f'value="{PID} — Indhentning af børne- og straffeattester"' in form.text  # the process choices
    r = await register(api, source.url, f"{PID} — Indhentning af børne- og straffeattester")
    assert r.status_code == 303 and r.headers["location"].startswith("/bots/jobs/")  # type: ignore[attr-defined]
    page = await follow(api, r.headers["location"])  # type: ignore[attr-defined]
    assert "Robotten er registreret" in page and 'href="/bots/hent-attester"' in page
    bot = (await api.get("/api/bots/hent-attester")).json()
    assert bot["state"] == "ready" and bot["processes"] == [PID] and bot["owner_municipality"] == "253"

    # its owner syncs it from the bot page
    bot_page = (await api.client.get("/bots/hent-attester")).text
    assert "Synkronisér nu" in bot_page
    head = source.commit({"src/ny.py": "def ny_funktion():\n    pass\n"}, "ny")
    token = await csrf_of(api, "/bots/hent-attester")
    r = await api.client.post("/bots/hent-attester/sync", data={"_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "Robotten er synkroniseret" in await follow(api, r.headers["location"])
    assert (await api.get("/api/bots/hent-attester")).json()["head"] == head


async def test_three_wrong_addresses_get_danish_messages_next_to_the_field(api: Api, source: SourceRepo) -> None:
    assert (await sign_in(api, "editor_253")).status_code == 303
    cases = {
        "": "Skriv adressen på git-repositoriet.",
        "http://github.com/kommune/robot": "Adressen skal begynde med https://",
        "https://bruger:hemmelig@github.com/kommune/robot": "Adressen må ikke indeholde brugernavn eller adgangskode.",
    }
    for url, message in cases.items():
        r = await register(api, url)
        assert r.status_code == 422  # type: ignore[attr-defined]
        text = r.text  # type: ignore[attr-defined]
        assert re.search(r'id="f-url"[^>]*aria-invalid="true"', text, re.S)
        assert re.search(r'id="err-url">' + re.escape(message), text), url
        assert "Expected" not in text and "url scheme" not in text  # never the API's English
    r = await register(api, source.url, "findes-ikke")
    assert r.status_code == 422 and 'id="err-process"' in r.text  # type: ignore[attr-defined]
    assert (await api.get("/api/bots")).json() == []  # nothing registered


async def test_a_repository_that_cannot_be_mirrored_is_explained_in_danish(api: Api) -> None:
    assert (await sign_in(api, "editor_253")).status_code == 303
    r = await register(api, "https://127.0.0.1:9/ingen/robot.git")  # nothing answers there
    page = await follow(api, r.headers["location"])  # type: ignore[attr-defined]
    assert "Registreringen mislykkedes" in page
    assert "Repositoriet kunne ikke hentes, og robotten er ikke registreret." in page
    assert (await api.get("/api/bots")).json() == []


async def test_rights_on_the_bot_pages(api: Api, source: SourceRepo) -> None:
    r = await api.client.get("/bots/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert (await api.register_bot({"url": source.url}, who="editor_253")).status_code == 200
    assert (await sign_in(api, "editor_376")).status_code == 303
    assert "Synkronisér nu" not in (await api.client.get("/bots/hent-attester")).text
    token = await csrf_of(api, "/bots/hent-attester")
    r = await api.client.post("/bots/hent-attester/sync", data={"_csrf_token": token})
    assert r.status_code == 403
    await api.person("rita", "reader", "253")
    assert (await sign_in(api, "rita")).status_code == 303
    assert (await api.client.get("/bots/new")).status_code == 403
