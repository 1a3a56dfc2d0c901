"""service.pages.municipalities: the list and one municipality's page."""

from __future__ import annotations

from tests.conftest import Api


async def test_municipality_page_and_list(site: Api) -> None:
    r = await site.client.get("/municipalities/253")
    assert r.status_code == 200
    assert "Greve" in r.text and "Indhentning af børne- og straffeattester" in r.text
    assert (await site.client.get("/municipalities")).status_code == 200
    assert (await site.client.get("/municipalities/999")).status_code == 404
    assert (await site.client.get("/municipalities/abc")).status_code == 404
