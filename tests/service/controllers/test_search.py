"""/api/search and keeping the index true to the catalogue, through the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import Api, process_body

PID = "indhentning-af-boerne-og-straffeattester"


async def search(api: Api, query: str = "", who: str | None = None, **params: str) -> dict[str, Any]:
    qs = "&".join([f"q={quote(query)}", *(f"{k}={quote(v)}" for k, v in params.items())])
    r = await api.get(f"/api/search?{qs}", who=who)
    assert r.status_code == 200, r.text
    return r.json()


def hit_ids(body: dict[str, Any]) -> list[str]:
    return [h["id"] for h in body["hits"]]


async def test_response_shape_and_browse(api: Api) -> None:
    await api.post("/api/processes", process_body(), who="editor_253")
    body = await search(api)
    assert set(body) == {"query", "total", "hits", "facets", "took_ms", "total_approximate", "facets_approximate"}
    assert (body["total_approximate"], body["facets_approximate"]) == (False, False)
    assert set(body["facets"]) >= {"type", "domain", "phase", "system", "technology", "municipality"}
    assert body["facets"]["type"] == {"process": 1, "municipality": 3}
    assert body["total"] == 4
    body = await search(api, "børneattest")
    hit = body["hits"][0]
    assert set(hit) == {"type", "id", "title", "snippet", "url", "score"}
    assert (hit["type"], hit["id"], hit["url"]) == ("process", PID, f"/processes/{PID}")
    assert "<mark>" in hit["snippet"]


async def test_municipalities_by_name_and_ascii_spelling(api: Api) -> None:
    for query in ("Køge", "Koege", "Koge", "koge"):
        assert hit_ids(await search(api, query, type="municipality")) == ["259"], query
    assert hit_ids(await search(api, "Guldborgssund"))[0] == "376"


async def test_writes_reach_the_index_in_the_same_request(api: Api) -> None:
    await api.post("/api/processes", process_body(), who="editor_253")
    assert hit_ids(await search(api, "straffeattester")) == [PID]

    await api.patch(
        f"/api/processes/{PID}",
        {"title": "Hentning af politiattester", "summary": "Politiattester.", "description": "", "tags": []},
        who="editor_253",
        headers={"If-Match": "*"},
    )
    assert hit_ids(await search(api, "straffeattester")) == []
    assert hit_ids(await search(api, "politiattest")) == [PID]

    await api.put(f"/api/processes/{PID}/adoptions/376", {"status": "operation"}, who="editor_376")
    assert hit_ids(await search(api, "politiattest", municipality="376")) == [PID]

    await api.delete(f"/api/processes/{PID}")
    assert hit_ids(await search(api, "politiattest")) == []


async def test_a_renamed_municipality_is_found_by_its_new_name_on_its_processes(api: Api) -> None:
    await api.post("/api/processes", process_body(), who="editor_253")
    await api.patch("/api/municipalities/253", {"name": "Greve Kommune", "aliases": ["Greve Strand"]})
    assert PID in hit_ids(await search(api, "Greve Strand"))


async def test_filters_and_type(api: Api) -> None:
    await api.post("/api/processes", process_body(), who="editor_253")
    await api.post(
        "/api/processes",
        process_body(
            title="Betaling af tolkeregninger", domain="oekonomi", systems=["KMD Opus"], technologies=["Python"]
        ),
        who="editor_376",
    )
    assert hit_ids(await search(api, "", type="process", domain="oekonomi")) == ["betaling-af-tolkeregninger"]
    assert hit_ids(await search(api, "", system="kmd opus")) == ["betaling-af-tolkeregninger"]
    assert hit_ids(await search(api, "", technology="Power Automate")) == [PID]
    assert set(hit_ids(await search(api, "", type="process", municipality="376"))) == {"betaling-af-tolkeregninger"}
    assert (await api.get("/api/search?q=x&type=film")).status_code == 422
    assert (await api.get("/api/search?q=x&limit=0")).status_code == 422


async def test_drafts_are_found_only_by_their_municipality(api: Api) -> None:
    r = await api.post(
        "/api/processes", process_body(title="Hemmelig kladde", visibility="municipality"), who="editor_253"
    )
    draft = r.json()["id"]
    assert hit_ids(await search(api, "hemmelig")) == []
    assert hit_ids(await search(api, "hemmelig", who="editor_376")) == []
    assert hit_ids(await search(api, "hemmelig", who="editor_253")) == [draft]
    assert hit_ids(await search(api, "hemmelig", who="admin")) == [draft]
    r = await api.get("/api/processes?q=hemmelig")
    assert r.json()["total"] == 0


@pytest.mark.parametrize(
    "text", ['"', "*", "-", "NEAR", "AND", "attest AND", "((", "a" * 10_000, "😀", "\\", "%", "attest) OR (1=1"]
)
async def test_odd_queries_never_fail(api: Api, text: str) -> None:
    r = await api.get(f"/api/search?q={quote(text)}")
    assert r.status_code == 200
    assert r.json()["total"] >= 0
    r = await api.get(f"/api/processes?q={quote(text)}")
    assert r.status_code == 200


async def test_process_list_q_is_ranked_by_the_search(api: Api) -> None:
    await api.post("/api/processes", process_body(), who="editor_253")
    await api.post(
        "/api/processes",
        process_body(title="Betaling af tolkeregninger", summary="Tolke betales.", description="", tags=[], systems=[]),
        who="editor_253",
    )
    page = (await api.get("/api/processes?q=straffeatester")).json()  # a typo
    assert [p["id"] for p in page["items"]] == [PID]
    assert page["items"][0]["adopted_by"] == []  # full process objects
    page = (await api.get("/api/processes?q=tolk&domain=hr_og_loen")).json()
    assert [p["id"] for p in page["items"]] == ["betaling-af-tolkeregninger"]
