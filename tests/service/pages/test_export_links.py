"""Export links on the pages where the data is shown: each link downloads what the page shows."""

from __future__ import annotations

import csv
import html
import io
import re

from openpyxl import load_workbook

from tests.conftest import Api
from tests.service.pages.conftest import PID

LINK = re.compile(r'href="(/api/export/[^"]+)"')


def export_links(page: str) -> list[str]:
    return [html.unescape(link) for link in LINK.findall(page)]


async def test_search_results_link_the_export_of_the_current_query_and_filters(site: Api) -> None:
    r = await site.client.get("/search", params={"q": "straffeattest", "domain": "hr_og_loen"})
    links = export_links(r.text)
    csv_link = next(link for link in links if ".csv" in link)
    assert "q=straffeattest" in csv_link and "domain=hr_og_loen" in csv_link
    download = await site.client.get(csv_link)
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig")), delimiter=";"))
    assert [row["ID"] for row in rows] == [PID]
    xlsx = await site.client.get(next(link for link in links if ".xlsx" in link))
    assert xlsx.status_code == 200
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "Processer"


async def test_a_search_without_hits_links_no_export(site: Api) -> None:
    r = await site.client.get("/search", params={"q": "xyzzyqwerty"})
    assert export_links(r.text) == []


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
