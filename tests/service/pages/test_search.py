"""service.pages.search: the front page, search results, facets, paging and the htmx partial."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any
from urllib.parse import quote

from litestar.testing import TestClient
from openpyxl import load_workbook

from tests.conftest import Api
from tests.service.pages.conftest import PID, POLITI


async def test_front_page_has_the_search_field(site: Api) -> None:
    r = await site.client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert 'name="q"' in r.text and 'lang="da"' in r.text
    assert 'href="#indhold"' in r.text  # skip link
    assert "/static/js/htmx.min.js" in r.text and "/static/css/site.css" in r.text


async def test_search_shows_hits_with_marked_snippet_and_facets(site: Api) -> None:
    r = await site.client.get("/search", params={"q": "straffeattest"})
    assert r.status_code == 200
    assert f'href="/processes/{PID}"' in r.text
    assert "<mark>" in r.text
    assert "Proces" in r.text  # the type of the hit
    assert "/search?q=straffeattest&amp;domain=hr_og_loen" in r.text  # a facet link
    assert "HR og løn" in r.text


async def test_a_facet_filters(site: Api) -> None:
    r = await site.client.get("/search", params={"domain": "oekonomi"})
    assert "Betaling af tolkeregninger" in r.text
    assert "Indhentning af børne- og straffeattester" not in r.text
    assert "(fjern filter)" in r.text


async def test_search_escapes_the_query_and_survives_odd_input(site: Api) -> None:
    r = await site.client.get("/search", params={"q": '<script>alert("x")</script> "NEAR( -*', "domain": "nonsense"})
    assert r.status_code == 200
    assert "<script>alert" not in r.text
    assert "&lt;script&gt;" in r.text


async def test_htmx_gets_only_the_results_partial(site: Api) -> None:
    r = await site.client.get("/search", params={"q": "tolk"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<div id="results"')
    assert "<html" not in r.text
    assert "Betaling af tolkeregninger" in r.text


async def test_paging(site: Api) -> None:
    r = await site.client.get("/search", params={"page": 2})
    assert r.status_code == 200
    bad = await site.client.get("/search", params={"page": 0})
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]


def test_a_code_search_hit_lands_on_its_line(demo_bank: TestClient[Any]) -> None:
    r = demo_bank.get("/search", params={"q": "hent_straffeattest"})
    assert r.status_code == 200
    urls = [html.unescape(u) for u in re.findall(r'href="(/bots/[^"]+/blob\?[^"]+)"', r.text)]
    assert urls, "a code hit links to the file"
    url, _, anchor = urls[0].partition("#")
    assert re.fullmatch(r"L\d+", anchor)
    page = demo_bank.get(url)
    assert page.status_code == 200 and f'id="{anchor}"' in page.text
    assert quote(POLITI, safe="/") in url


async def test_pages_have_a_favicon(site: Api) -> None:
    r = await site.client.get("/")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in r.text
    icon = await site.client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml") and "<svg" in icon.text


def test_the_front_page_shows_the_newest_and_the_most_used_processes(demo_bank: TestClient[Any]) -> None:
    page = demo_bank.get("/").text
    assert "Nyeste processer" in page and "Mest brugte processer" in page
    used = page.split('id="front-used"', 1)[1].split("</ol>", 1)[0]
    counts = [int(n) for n in re.findall(r"i brug i (\d+) kommuner?", used)]
    assert counts and counts == sorted(counts, reverse=True)  # the most used first
    # a search shows its results only
    assert "Nyeste processer" not in demo_bank.get("/search", params={"q": "attest"}).text


def test_hits_show_the_owner_the_phase_and_how_many_run_it(demo_bank: TestClient[Any]) -> None:
    page = demo_bank.get("/search", params={"q": "straffeattester", "type": "process"}).text
    hit = page.split('href="/processes/indhentning-af-boerne-og-straffeattester"', 1)[1].split("</li>", 1)[0]
    meta = re.search(r'<p class="hit-meta">([^<]*)</p>', hit)
    assert meta is not None
    owner, phase, used = (part.strip() for part in meta.group(1).split("·"))
    assert owner == "Greve" and phase == "Drift" and re.fullmatch(r"i brug i \d+ kommuner?", used)


def test_code_hits_name_their_bot(demo_bank: TestClient[Any]) -> None:
    page = demo_bank.get("/search", params={"q": "hent_straffeattest", "type": "code"}).text
    assert '<p class="hit-meta">Robot: Straffeattest-robotten</p>' in page


def test_a_corrected_typo_says_what_was_searched(demo_bank: TestClient[Any]) -> None:
    page = demo_bank.get("/search", params={"q": "helbredstilæg"}).text
    assert "Viser resultater for »<strong>helbredstillæg</strong>« (du skrev »helbredstilæg«)." in page
    assert "Viser resultater for" not in demo_bank.get("/search", params={"q": "helbredstillæg"}).text


# ---------------------------------------------------------------- export links: each downloads what the page shows

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
