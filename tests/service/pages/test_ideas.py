"""service.pages.ideas: the board, proposing (with Danish messages and likely duplicates), voting, screening
and deciding on the pages."""

from __future__ import annotations

import re

from tests.conftest import Api
from tests.service.pages.conftest import csrf_of, sign_in

QUESTIONS = ("rule_based", "digital_input", "structured_input", "volume", "stability", "documentation")


async def propose(site: Api, **values: str) -> object:
    form = {
        "title": "Indtastning af fakturaer",
        "domain": "oekonomi",
        "manual_today": "Fakturaer tastes ind fra PDF.",
        "cases_per_year": "1.200",
        "minutes_per_case": "5,5",
        "systems": "Prisme, OS2indberetning",
    }
    form.update(values)
    token = await csrf_of(site, "/ideas/new")
    return await site.client.post("/ideas/new", data={**form, "_csrf_token": token}, follow_redirects=False)


async def test_a_reader_proposes_an_idea_on_the_page(site: Api) -> None:
    await site.person("rita", "reader", "253")
    await sign_in(site, "rita")
    r = await propose(site)
    assert r.status_code == 303
    pid = r.headers["location"].removeprefix("/ideas/")
    process = (await site.get(f"/api/processes/{pid}", who="admin")).json()
    assert (process["cases_per_year"], process["minutes_per_case"]) == (1200, 5.5)
    assert process["systems"] == ["Prisme", "OS2indberetning"]
    board = await site.client.get("/ideas")
    assert "Indtastning af fakturaer" in board.text


async def test_three_wrong_fields_give_three_danish_messages(site: Api) -> None:
    await sign_in(site, "editor_253")
    r = await propose(site, title="", cases_per_year="mange", minutes_per_case="-3")
    assert r.status_code == 422
    text = r.text
    assert "Skriv en kort titel." in text
    assert "Sager pr. år skal være et helt tal" in text
    assert "Minutter pr. sag kan ikke være negativ." in text
    assert "Expected" not in text


async def test_likely_duplicates_show_while_typing(site: Api) -> None:
    await sign_in(site, "editor_253")
    r = await site.client.get("/ideas/similar", params={"title": "Indhentning af straffeattester"})
    assert r.status_code == 200
    assert "Findes den allerede?" in r.text and "/processes/indhentning-af-boerne-og-straffeattester" in r.text


async def test_vote_screen_and_decide_on_the_idea_page(site: Api) -> None:
    await sign_in(site, "editor_253")
    pid = (await propose(site)).headers["location"].removeprefix("/ideas/")  # type: ignore[attr-defined]
    page = await site.client.get(f"/ideas/{pid}")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    await site.client.post(f"/ideas/{pid}/vote", data={"_csrf_token": token, "vote": "1"})
    incomplete = await site.client.post(f"/ideas/{pid}/screening", data={"_csrf_token": token, "q_rule_based": "5"})
    assert incomplete.status_code == 422
    assert incomplete.text.count("Vælg et svar fra 1 til 5.") == 5
    answers = {f"q_{q}": "5" for q in QUESTIONS}
    done = await site.client.post(
        f"/ideas/{pid}/screening", data={"_csrf_token": token, **answers}, follow_redirects=False
    )
    assert done.status_code == 303
    await site.put(f"/api/processes/{pid}/adoptions/253", {"status": "interested"}, who="editor_253")
    page = await site.client.get(f"/ideas/{pid}")
    assert 'id="screening-score">100,0<' in page.text
    assert 'id="combined-hours">110<' in page.text  # 1,200 cases × 5.5 min / 60 × 100 % potential
    assert "Registrér beslutningen" not in page.text  # editors do not decide
    await sign_in(site, "admin")
    page = await site.client.get(f"/ideas/{pid}")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = await site.client.post(
        f"/ideas/{pid}/decision",
        data={"_csrf_token": token, "decision": "approve", "building_municipality": "259"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    process = (await site.get(f"/api/processes/{pid}", who="admin")).json()
    assert (process["phase"], process["owner_municipality"]) == ("analysis", "259")
    assert "Godkendt" in (await site.client.get(f"/ideas/{pid}")).text
    process_page = (await site.client.get(f"/processes/{pid}")).text
    assert "Idé og beslutning" in process_page and "bygges af Køge" in process_page


async def test_the_benefit_form_takes_qualitative_benefits(site: Api) -> None:
    await sign_in(site, "editor_253")
    pid = "indhentning-af-boerne-og-straffeattester"
    token = await csrf_of(site, f"/processes/{pid}")
    r = await site.client.post(
        f"/processes/{pid}/benefits",
        data={
            "_csrf_token": token,
            "municipality": "253",
            "period": "2024-05",
            "cases_handled": "100",
            "quality": "4",
            "citizen_experience": "5",
            "qualitative_note": "Færre fejl",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    record = (await site.get(f"/api/processes/{pid}/adoptions/253/benefits/2024-05")).json()
    assert (record["quality"], record["work_environment"], record["citizen_experience"]) == (4, None, 5)
    page = (await site.client.get(f"/processes/{pid}")).text
    assert "Kvalitet 4 · Borgeroplevelse 5" in page and "Færre fejl" in page
