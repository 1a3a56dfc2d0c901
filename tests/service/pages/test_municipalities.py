"""service.pages.municipalities: the list and one municipality's page."""

from __future__ import annotations

from tests.conftest import Api
from tests.service.pages.conftest import CSRF, PID, sign_in


async def test_municipality_page_and_list(site: Api) -> None:
    r = await site.client.get("/municipalities/253")
    assert r.status_code == 200
    assert "Greve" in r.text and "Indhentning af børne- og straffeattester" in r.text
    assert (await site.client.get("/municipalities")).status_code == 200
    assert (await site.client.get("/municipalities/999")).status_code == 404
    assert (await site.client.get("/municipalities/abc")).status_code == 404


RUNS = f"/api/processes/{PID}/adoptions/253/runs"


async def test_municipality_page_shows_runs_missing_figures_and_the_choice(site: Api) -> None:
    await site.put(f"/api/processes/{PID}/adoptions/253/benefits/2024-05", {"cases_handled": 100})
    runs = [
        {"id": "a", "ended_at": "2024-05-03T10:00:00+02:00", "outcome": "success"},
        {"id": "b", "ended_at": "2024-05-03T11:00:00+02:00", "outcome": "business_exception"},
        {"id": "c", "ended_at": "2024-06-03T11:00:00+02:00", "outcome": "success"},
    ]
    assert (await site.post(RUNS, {"runs": runs}, who="editor_253")).status_code == 200
    page = (await site.client.get("/municipalities/253")).text
    assert 'id="koersler"' in page and "succesrate 66,7 %" in page
    assert "Uoverensstemmelse:" in page and "Fra kørsler" in page
    assert 'id="manglende"' in page and "måneder:" in page and "tidligere" in page  # live since 2022-02
    assert "Brug kørslerne" not in page  # not signed in: no choice to make

    await sign_in(site, "editor_253")
    page = (await site.client.get("/municipalities/253")).text
    assert "Brug kørslerne" in page
    token = CSRF.search(page)
    assert token
    r = await site.client.post(
        f"/municipalities/253/runs/{PID}/2024-05",
        data={"use": "runs", "_csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    record = (await site.get(f"/api/processes/{PID}/adoptions/253/benefits/2024-05")).json()
    assert (record["source"], record["cases_handled"]) == ("runs", 1)


async def test_a_refused_choice_is_said_in_danish_next_to_the_month(site: Api) -> None:
    await site.put(f"/api/processes/{PID}/adoptions/253/benefits/2024-Q2", {"cases_handled": 100})
    run = {"id": "a", "ended_at": "2024-05-03T10:00:00+02:00", "outcome": "success"}
    await site.post(RUNS, {"runs": [run]}, who="editor_253")
    await sign_in(site, "editor_253")
    token = CSRF.search((await site.client.get("/municipalities/253")).text)
    assert token
    r = await site.client.post(
        f"/municipalities/253/runs/{PID}/2024-05", data={"use": "runs", "_csrf_token": token.group(1)}
    )
    assert r.status_code == 422
    assert "Et kvartal eller år indtastet i hånden dækker måneden" in r.text
