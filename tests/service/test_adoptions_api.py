from __future__ import annotations

import pytest

from tests.conftest import Api, process_body

PID = "indhentning-af-boerne-og-straffeattester"
URL = f"/api/processes/{PID}/adoptions"


@pytest.fixture
async def process(api: Api) -> str:
    r = await api.post("/api/processes", process_body(), who="editor_253")
    assert r.status_code == 201
    return PID


async def test_put_creates_then_replaces(api: Api, process: str) -> None:
    body = {
        "status": "implementing",
        "started_on": "2024-01-15",
        "bot": {"repo": "https://git.example/bot", "ref": "v1.0.0"},
        "cases_per_year": 400,
        "notes": "Pilot i HR",
        "contact": {"name": "Ida Holm"},
    }
    r = await api.put(f"{URL}/376", body, who="editor_376")
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["municipality"] == "376" and a["municipality_name"] == "Guldborgsund"
    assert a["status_label"] == "Under implementering"
    assert a["bot"] == {"repo": "https://git.example/bot", "ref": "v1.0.0", "slug": None}  # not a registered bot
    # local cases, the process's minutes and rate: 400 × 3.2 / 60 × 85 / 100
    assert a["expected_hours_per_year"] == pytest.approx(400 * 3.2 / 60 * 0.85)

    r = await api.put(
        f"{URL}/376", {"status": "operation", "started_on": "2024-01-15", "live_on": "2024-03-01"}, who="editor_376"
    )
    assert r.status_code == 200
    a = r.json()
    assert a["status"] == "operation" and a["bot"] is None and a["notes"] is None  # PUT replaces the whole
    p = (await api.get(f"/api/processes/{PID}")).json()
    assert p["adopted_by"] == ["376"] and p["adoption_count"] == 1


async def test_lists_per_process_and_per_municipality(api: Api, process: str) -> None:
    await api.put(f"{URL}/376", {"status": "planned"}, who="editor_376")
    await api.put(f"{URL}/253", {"status": "operation"}, who="editor_253")
    listed = (await api.get(URL)).json()
    assert [a["municipality"] for a in listed] == ["253", "376"]  # Greve, Guldborgsund
    mine = (await api.get("/api/municipalities/376/adoptions")).json()
    assert [a["process"] for a in mine] == [PID]
    one = await api.get(f"{URL}/253")
    assert one.status_code == 200 and one.json()["status"] == "operation"
    assert (await api.get(f"{URL}/259")).status_code == 404
    assert (await api.get("/api/municipalities/999/adoptions")).status_code == 404


async def test_bad_adoptions(api: Api, process: str) -> None:
    r = await api.put(f"{URL}/376", {"status": "live"}, who="editor_376")
    assert r.status_code == 422 and r.json()["field"] == "status"
    r = await api.put(
        f"{URL}/376", {"status": "operation", "started_on": "2024-05-01", "live_on": "2024-01-01"}, who="editor_376"
    )
    assert r.status_code == 422 and r.json()["field"] == "live_on"
    r = await api.put(f"{URL}/376", {"status": "operation", "started_on": "2024-13-01"}, who="editor_376")
    assert r.status_code == 422 and r.json()["field"] == "started_on"
    r = await api.put(f"/api/processes/{PID}/adoptions/999", {"status": "planned"})
    assert r.status_code == 404
    r = await api.put("/api/processes/findes-ikke/adoptions/376", {"status": "planned"}, who="editor_376")
    assert r.status_code == 404
    r = await api.put(f"/api/processes/{PID}/adoptions/12", {"status": "planned"})
    assert r.status_code in (400, 404, 422)
    assert (await api.get(URL)).json() == []


async def test_delete(api: Api, process: str) -> None:
    await api.put(f"{URL}/376", {"status": "planned"}, who="editor_376")
    assert (await api.delete(f"{URL}/376", who="editor_253")).status_code == 403
    assert (await api.delete(f"{URL}/376", who="editor_376")).status_code == 204
    assert (await api.delete(f"{URL}/376", who="editor_376")).status_code == 404
