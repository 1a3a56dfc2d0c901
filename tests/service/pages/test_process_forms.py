"""service.pages.process_forms: describing, editing (with conflicts), copying, marking a duplicate, retiring and
deleting processes on the pages; rights for every route."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from tests.conftest import Api, process_body
from tests.service.pages.conftest import PID, csrf_of, sign_in

OTHER = "betaling-af-tolkeregninger"  # owned by Køge (259)


def new_form(**values: str) -> dict[str, str]:
    form = {
        "title": "Udbetaling af befordringsgodtgørelse",
        "summary": "Robotten udbetaler befordringsgodtgørelse til borgere.",
        "domain": "social",
        "phase": "analysis",
        "visibility": "network",
        "systems_0": "KMD Opus",
        "systems_1": "eDoc",
        "cases_per_year": "1.200",
        "minutes_per_case": "5,5",
        "automation_rate": "75 %",
        "contact_name": "Sofie Lund",
        "contact_email": "sofie@greve.dk",
    }
    form.update(values)
    return form


async def post(site: Api, url: str, form: dict[str, str] | None = None, page: str | None = None) -> Any:
    token = await csrf_of(site, page or url)
    return await site.client.post(url, data={**(form or {}), "_csrf_token": token}, follow_redirects=False)


async def test_an_editor_describes_a_process_with_danish_numbers(site: Api) -> None:
    await sign_in(site, "editor_253")
    r = await post(site, "/processes/new", new_form())
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/processes/udbetaling-af-befordringsgodtgoerelse?gemt=proces"
    p = (await site.get("/api/processes/udbetaling-af-befordringsgodtgoerelse")).json()
    assert (p["cases_per_year"], p["minutes_per_case"], p["automation_rate"]) == (1200, 5.5, 75)
    assert p["systems"] == ["KMD Opus", "eDoc"] and p["owner_municipality"] == "253"
    assert p["contact"] == {"name": "Sofie Lund", "email": "sofie@greve.dk"} and p["phase"] == "analysis"
    page = await site.client.get(r.headers["location"])
    assert "Processen er gemt." in page.text


async def test_the_new_form_has_labels_help_and_suggestions_from_existing_terms(site: Api) -> None:
    await sign_in(site, "editor_253")
    r = await site.client.get("/processes/new")
    assert r.status_code == 200
    assert '<label for="f-cases_per_year">Sager pr. år</label>' in r.text
    assert 'id="help-automation_rate"' in r.text
    datalist = re.search(r'<datalist id="dl-systems">(.*?)</datalist>', r.text, re.S)
    assert datalist and 'value="eDoc"' in datalist.group(1) and 'value="KMD Opus"' in datalist.group(1)
    assert 'hx-get="/processes/new/similar"' in r.text


async def test_three_wrong_fields_give_three_danish_messages_and_keep_the_values(site: Api) -> None:
    await sign_in(site, "editor_253")
    form = new_form(cases_per_year="mange", minutes_per_case="-2", automation_rate="120 %", kle="27-24")
    r = await post(site, "/processes/new", form)
    assert r.status_code == 422
    errors = dict(re.findall(r'<p class="field-error" id="err-([a-z_]+)">([^<]*)</p>', r.text))
    assert errors == {
        "cases_per_year": "Sager pr. år skal være et helt tal, fx 1.200.",
        "minutes_per_case": "Minutter pr. sag kan ikke være negativ.",
        "automation_rate": "Automatiseringsgrad må højst være 100 %.",
        "kle": "KLE-nummer skal skrives som 00.00.00, fx 27.24.00.",
    }
    assert "Expected" not in r.text
    assert 'value="mange"' in r.text and 'value="Udbetaling af befordringsgodtgørelse"' in r.text
    assert (await site.get("/api/processes/udbetaling-af-befordringsgodtgoerelse")).status_code == 404


async def test_missing_required_fields_are_named(site: Api) -> None:
    await sign_in(site, "editor_253")
    r = await post(site, "/processes/new", new_form(title="", summary=" ", domain=""))
    assert r.status_code == 422
    assert "Udfyld titel." in r.text and "Udfyld resumé." in r.text and "Udfyld område." in r.text


async def test_a_decimal_where_a_whole_number_belongs(site: Api) -> None:
    await sign_in(site, "editor_253")
    r = await post(site, "/processes/new", new_form(cases_per_year="5,5"))
    assert r.status_code == 422 and "Sager pr. år skal være et helt tal" in r.text


async def test_duplicate_warning_while_typing(site: Api) -> None:
    await sign_in(site, "editor_376")
    r = await site.client.get(
        "/processes/new/similar",
        params={"title": "Indhentning af straffeattester", "summary": "Robotten henter straffeattester"},
    )
    assert r.status_code == 200
    assert f'href="/processes/{PID}"' in r.text and "Findes den allerede?" in r.text
    empty = await site.client.get("/processes/new/similar", params={"title": ""})
    assert "Findes den allerede?" not in empty.text


async def test_admin_must_choose_the_owner(site: Api) -> None:
    await sign_in(site, "admin")
    r = await post(site, "/processes/new", new_form())
    assert r.status_code == 422 and 'id="err-owner_municipality"' in r.text
    r = await post(site, "/processes/new", new_form(owner_municipality="376"))
    assert r.status_code == 303
    assert (await site.get("/api/processes/udbetaling-af-befordringsgodtgoerelse")).json()[
        "owner_municipality"
    ] == "376"


@pytest.mark.parametrize(
    "url", ["/processes/new", f"/processes/{PID}/edit", f"/processes/{PID}/duplicate", f"/processes/{PID}/retire"]
)
async def test_anonymous_is_sent_to_login(site: Api, url: str) -> None:
    r = await site.client.get(url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


async def test_anonymous_post_is_sent_to_login(site: Api) -> None:
    r = await post(site, f"/processes/{PID}/copy", {}, page="/login")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "url",
    ["/processes/new", f"/processes/{PID}/edit", f"/processes/{PID}/duplicate", f"/processes/{PID}/retire"],
)
async def test_a_reader_gets_403(site: Api, url: str) -> None:
    await site.person("rita", "reader", "253")
    await sign_in(site, "rita")
    assert (await site.client.get(url)).status_code == 403


@pytest.mark.parametrize("url", [f"/processes/{PID}/edit", f"/processes/{PID}/duplicate", f"/processes/{PID}/retire"])
async def test_another_municipalitys_editor_gets_403(site: Api, url: str) -> None:
    await sign_in(site, "editor_376")
    assert (await site.client.get(url)).status_code == 403


async def test_another_municipalitys_editor_cannot_post_an_edit(site: Api) -> None:
    await sign_in(site, "editor_376")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(f"/processes/{PID}/edit", data={"_csrf_token": token, "version": "1", "title": "Kapret"})
    assert r.status_code == 403
    assert (await site.get(f"/api/processes/{PID}")).json()["title"] != "Kapret"


async def test_delete_is_for_admins_only(site: Api) -> None:
    await sign_in(site, "editor_253")
    assert (await site.client.get(f"/processes/{PID}/delete")).status_code == 403
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(f"/processes/{PID}/delete", data={"_csrf_token": token})
    assert r.status_code == 403
    assert (await site.get(f"/api/processes/{PID}")).status_code == 200


async def edit_values(site: Api) -> dict[str, str]:
    page = (await site.client.get(f"/processes/{PID}/edit")).text
    values = dict(re.findall(r'<input[^>]* name="([a-z_0-9]+)" value="([^"]*)"', page))
    values.update(re.findall(r'<input[^>]*name="([a-z_0-9]+)" value="([^"]*)"', page))
    for name in ("domain", "phase", "status", "visibility"):
        chosen = re.search(rf'<select id="f-{name}" name="{name}".*?<option value="([^"]*)" selected', page, re.S)
        assert chosen, name
        values[name] = chosen.group(1)
    description = re.search(r'<textarea id="f-description"[^>]*>([^<]*)</textarea>', page)
    values["description"] = description.group(1) if description else ""
    values.pop("_csrf_token", None)
    return {k: html.unescape(v) for k, v in values.items()}


async def test_an_editor_edits_and_the_form_shows_the_saved_values(site: Api) -> None:
    await sign_in(site, "editor_253")
    values = await edit_values(site)
    assert values["version"] == "1" and values["systems_0"] == "Politiets attestløsning"
    values.update(summary="Nyt resumé.", cases_per_year="2.400")
    r = await post(site, f"/processes/{PID}/edit", values)
    assert r.status_code == 303, r.text
    p = (await site.get(f"/api/processes/{PID}")).json()
    assert (p["summary"], p["cases_per_year"], p["version"]) == ("Nyt resumé.", 2400, 2)
    assert p["title"] == "Indhentning af børne- og straffeattester" and p["systems"][0] == "Politiets attestløsning"


async def test_a_conflict_shows_both_versions_and_reapplying_saves_mine(site: Api) -> None:
    await sign_in(site, "editor_253")
    values = await edit_values(site)
    theirs = await site.patch(
        f"/api/processes/{PID}", {"summary": "Deres resumé."}, who="editor_253", headers={"If-Match": '"1"'}
    )
    assert theirs.status_code == 200
    values.update(summary="Mit resumé.")
    r = await post(site, f"/processes/{PID}/edit", values, page=f"/processes/{PID}")
    assert r.status_code == 409
    row = re.search(r'<tr class="differs">\s*<th scope="row">Resumé.*?</tr>', r.text, re.S)
    assert row and "Mit resumé." in row.group(0) and "Deres resumé." in row.group(0)
    differing = re.findall(r"<tr class=\"differs\">\s*<th scope=\"row\">([^<]*)", r.text)
    assert differing == ["Resumé "], differing  # only the summary differs
    assert (await site.get(f"/api/processes/{PID}")).json()["summary"] == "Deres resumé."  # nothing overwritten
    form = r.text.split('action="/processes/{PID}/edit"'.replace("{PID}", PID), 1)[1]
    assert 'name="version" value="2"' in form and 'name="summary" value="Mit resumé."' in form  # theirs, new version
    values.update(version="2")
    again = await post(site, f"/processes/{PID}/edit", values, page=f"/processes/{PID}")
    assert again.status_code == 303
    assert (await site.get(f"/api/processes/{PID}")).json()["summary"] == "Mit resumé."


async def test_edit_errors_are_danish_and_nothing_is_saved(site: Api) -> None:
    await sign_in(site, "editor_253")
    values = await edit_values(site)
    values.update(title="", build_hours="mange", contact_email="ikke-en-adresse")
    r = await post(site, f"/processes/{PID}/edit", values)
    assert r.status_code == 422
    assert "Udfyld titel." in r.text and "Udviklingstimer skal være et tal, fx 5,5." in r.text
    assert "Kontaktpersonens e-mail skal være en e-mailadresse" in r.text
    assert (await site.get(f"/api/processes/{PID}")).json()["version"] == 1


async def test_copy_to_my_municipality(site: Api) -> None:
    await sign_in(site, "editor_376")
    r = await post(site, f"/processes/{PID}/copy", {}, page=f"/processes/{PID}")
    assert r.status_code == 303
    copy_id = r.headers["location"].split("?")[0].removeprefix("/processes/")
    copy = (await site.get(f"/api/processes/{copy_id}")).json()
    assert copy["title"] == "Indhentning af børne- og straffeattester (kopi fra Greve)"
    assert (copy["phase"], copy["derived_from"], copy["owner_municipality"]) == ("idea", PID, "376")
    page = await site.client.get(r.headers["location"])
    assert "Kopien er lavet til din kommune" in page.text


async def test_a_reader_cannot_copy(site: Api) -> None:
    await site.person("rita", "reader", "253")
    await sign_in(site, "rita")
    r = await post(site, f"/processes/{PID}/copy", {}, page=f"/processes/{PID}")
    assert r.status_code == 403


async def test_mark_as_duplicate_with_a_search_for_the_original(site: Api) -> None:
    await site.person("editor_259", "editor", "259")
    await sign_in(site, "editor_259")
    page = await site.client.get(f"/processes/{OTHER}/duplicate", params={"q": "straffeattester"})
    assert page.status_code == 200 and f'value="{PID}"' in page.text
    r = await post(site, f"/processes/{OTHER}/duplicate", {"version": "1"}, page=f"/processes/{OTHER}/duplicate")
    assert r.status_code == 422 and "Vælg den proces, den er en dublet af." in r.text
    r = await post(
        site, f"/processes/{OTHER}/duplicate", {"version": "1", "original": PID}, page=f"/processes/{OTHER}/duplicate"
    )
    assert r.status_code == 303
    p = (await site.get(f"/api/processes/{OTHER}")).json()
    assert (p["status"], p["duplicate_of"]) == ("duplicate", PID)


async def test_retire_asks_first_and_refuses_a_stale_confirmation(site: Api) -> None:
    await sign_in(site, "editor_253")
    confirm = await site.client.get(f"/processes/{PID}/retire")
    assert "Udfas processen?" in confirm.text and 'name="version" value="1"' in confirm.text
    await site.patch(f"/api/processes/{PID}", {"summary": "Ændret."}, who="editor_253", headers={"If-Match": "*"})
    r = await post(site, f"/processes/{PID}/retire", {"version": "1"}, page=f"/processes/{PID}")
    assert r.status_code == 409 and "ændret af en anden" in r.text
    r = await post(site, f"/processes/{PID}/retire", {"version": "2"}, page=f"/processes/{PID}")
    assert r.status_code == 303
    assert (await site.get(f"/api/processes/{PID}")).json()["phase"] == "retired"


async def test_an_admin_deletes_after_confirming(site: Api) -> None:
    await sign_in(site, "admin")
    confirm = await site.client.get(f"/processes/{OTHER}/delete")
    assert confirm.status_code == 200 and "Det kan ikke fortrydes." in confirm.text
    r = await post(site, f"/processes/{OTHER}/delete", {}, page=f"/processes/{OTHER}")
    assert r.status_code == 303 and r.headers["location"] == "/search?slettet=1"
    assert (await site.get(f"/api/processes/{OTHER}")).status_code == 404


async def test_the_process_page_offers_the_actions_by_role(site: Api) -> None:
    await sign_in(site, "editor_253")
    own = (await site.client.get(f"/processes/{PID}")).text
    assert f'href="/processes/{PID}/edit"' in own and f'action="/processes/{PID}/copy"' in own
    assert f'href="/processes/{PID}/delete"' not in own
    await sign_in(site, "editor_376")
    other = (await site.client.get(f"/processes/{PID}")).text
    assert f'href="/processes/{PID}/edit"' not in other and f'action="/processes/{PID}/copy"' in other
    assert 'href="/processes/new"' in other  # the menu


POSTS = [
    "/processes/new",
    f"/processes/{PID}/edit",
    f"/processes/{PID}/copy",
    f"/processes/{PID}/duplicate",
    f"/processes/{PID}/retire",
    f"/processes/{PID}/delete",
]


@pytest.mark.parametrize("url", POSTS)
async def test_every_post_sends_anonymous_to_login(site: Api, url: str) -> None:
    r = await post(site, url, {"version": "1", "original": OTHER, **new_form()}, page="/login")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert (await site.get(f"/api/processes/{PID}")).json()["version"] == 1


@pytest.mark.parametrize("url", POSTS)
async def test_every_post_refuses_a_reader(site: Api, url: str) -> None:
    await site.person("rita", "reader", "253")
    await sign_in(site, "rita")
    r = await post(site, url, {"version": "1", "original": OTHER, **new_form()}, page=f"/processes/{PID}")
    assert r.status_code == 403
    assert (await site.get(f"/api/processes/{PID}")).json()["version"] == 1


@pytest.mark.parametrize("url", POSTS[1:2] + POSTS[3:])
async def test_every_change_refuses_another_municipalitys_editor(site: Api, url: str) -> None:
    await sign_in(site, "editor_376")
    r = await post(site, url, {"version": "1", "original": OTHER, **new_form()}, page=f"/processes/{PID}")
    assert r.status_code == 403
    assert (await site.get(f"/api/processes/{PID}")).json()["version"] == 1


async def test_a_draft_is_not_offered_as_a_duplicate_to_another_municipality(site: Api) -> None:
    draft = process_body("Hemmelig straffeattest-kladde", owner_municipality="376", visibility="municipality")
    assert (await site.post("/api/processes", draft, who="editor_376")).status_code == 201
    await sign_in(site, "editor_253")
    r = await site.client.get("/processes/new/similar", params={"title": "Hemmelig straffeattest-kladde"})
    assert "Hemmelig" not in r.text
    page = await site.client.get(f"/processes/{PID}/duplicate", params={"q": "Hemmelig straffeattest-kladde"})
    assert page.status_code == 200 and 'href="/processes/hemmelig' not in page.text and "Ingen fundet" in page.text
    await sign_in(site, "editor_376")  # its own municipality is warned about it
    r = await site.client.get("/processes/new/similar", params={"title": "Hemmelig straffeattest-kladde"})
    assert 'href="/processes/hemmelig-straffeattest-kladde' in r.text
