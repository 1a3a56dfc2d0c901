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
