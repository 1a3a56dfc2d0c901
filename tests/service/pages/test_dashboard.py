"""service.pages.dashboard: the network's figures."""

from __future__ import annotations

from tests.conftest import Api
from tests.service.pages.conftest import PID


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
