"""service.pages.dashboard: the network's figures."""

from __future__ import annotations

import pytest

from service.settings import Settings
from tests.conftest import Api
from tests.service.pages.conftest import PID
from tests.service.pages.test_search import export_links


async def test_dashboard(site: Api) -> None:
    r = await site.client.get("/dashboard")
    assert r.status_code == 200
    assert r.text.count("<svg") >= 2
    assert "Processer efter fase" in r.text and "Hvem bruger hvad" in r.text
    assert f'href="/processes/{PID}"' in r.text  # the matrix


async def test_dashboard_months_and_missing_figures(site: Api) -> None:
    runs = [{"id": f"r{i}", "ended_at": "2024-05-03T10:00:00+02:00", "outcome": "success"} for i in range(30)]
    r = await site.post(f"/api/processes/{PID}/adoptions/253/runs", {"runs": runs}, who="editor_253")
    assert r.status_code == 200
    page = (await site.client.get("/dashboard")).text
    assert "Forventet og realiseret pr. måned" in page
    # 30 runs × 3.2 minutes = 1.6 hours, all from runs; expected 1200 × 3.2 / 60 × 85 % / 12 = 4.53 hours
    assert '<th scope="row">maj 2024</th>' in page and '<td class="num">1,6</td>' in page and "4,5" in page
    assert 'id="manglende"' in page and "Greve" in page


async def test_dashboard_figures_are_counted_by_the_database_as_the_adoptions_say(
    site: Api, settings: Settings
) -> None:
    """AdoptionService.overview (aggregate queries) gives the figures the dashboard used to count from every
    adoption in memory; a draft's adoptions count only for those who may see the draft."""
    from catalogue.services import AdoptionService
    from core.actors import Actor
    from core.db import create_engine, session_factories
    from tests.conftest import process_body

    r = await site.post(
        "/api/processes", process_body("Kladde med anvendelse", visibility="municipality"), who="editor_253"
    )
    assert r.status_code == 201
    draft = r.json()["id"]
    r = await site.put(
        f"/api/processes/{draft}/adoptions/253",
        {"status": "operation", "cases_per_year": 100, "minutes_per_case": 6, "automation_rate": 50},
        who="editor_253",
    )
    assert r.status_code == 201, r.text
    engine = create_engine(settings.effective_database_url)
    reads, _ = session_factories(engine)
    async with reads() as session:
        service = AdoptionService(session)
        for actor in (Actor(role="anonymous", name="anonym"), Actor(role="admin", name="admin")):
            every = await service.visible(actor)
            overview = await service.overview(actor)
            running = [a for a in every if a.status == "operation"]
            assert overview.adoption_count == len(every)
            assert overview.running_count == len(running)
            assert overview.processes == len({a.process for a in every})
            assert overview.by_status["operation"] == len(running)
            assert overview.expected_hours == pytest.approx(sum(a.expected_hours_per_year or 0 for a in running))
            assert overview.adopting_municipalities == {a.municipality for a in every}
            assert sum(len(group) for group in overview.matrix) == len(every)  # fewer than 40 processes here
            assert (draft in {a.process for a in every}) == (actor.role == "admin")
            best = max(running, key=lambda a: a.expected_hours_per_year or 0)
            assert overview.top_expected[0][2] >= (best.expected_hours_per_year or 0) - 1e-6
    await engine.dispose()


async def test_the_dashboard_and_municipality_page_show_realisation_fte_net_and_avoided_hours(site: Api) -> None:
    r = await site.put(f"/api/processes/{PID}/adoptions/253/benefits/2024", {"cases_handled": 1000}, who="editor_253")
    assert r.status_code == 201, r.text
    totals = (await site.get("/api/benefits?group_by=year")).json()["totals"]
    for url in ("/dashboard", "/municipalities/253"):
        page = (await site.client.get(url)).text
        figures = page.split('class="figures figures-benefit"', 1)[1].split("</dl>", 1)[0]
        for label in ("Realiseringsgrad", "Årsværk", "Netto", "Sparede udviklingstimer"):
            assert label in figures, (url, label)
    dashboard = (await site.client.get("/dashboard")).text.split('class="figures figures-benefit"', 1)[1]
    assert f"{round(totals['realisation_pct'])} %" in dashboard.split("</dl>", 1)[0]


# ---------------------------------------------------------------- export links of the dashboards and the process page


async def test_municipality_dashboard_and_process_pages_link_their_exports(site: Api) -> None:
    pages = {
        "/municipalities/253": "/api/export/benefits.xlsx?municipality=253",
        "/dashboard": "/api/export/benefits.xlsx",
        f"/processes/{PID}": f"/api/export/benefits.xlsx?process={PID}",
    }
    for page, expected in pages.items():
        links = export_links((await site.client.get(page)).text)
        assert expected in links, (page, links)
        for link in links:
            assert (await site.client.get(link)).status_code == 200, link
    rows = (await site.client.get("/api/export/processes.csv?dialect=plain&municipality=253")).text
    assert PID in rows
