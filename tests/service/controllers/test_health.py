from __future__ import annotations

from tests.conftest import Api


async def test_health_reports_the_database(api: Api) -> None:
    r = await api.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["backend"] in ("sqlite", "postgresql")


async def test_openapi_31_document_and_interactive_docs_are_served(api: Api) -> None:
    r = await api.get("/api/schema/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    for path in (
        "/api/processes",
        "/api/processes/{process_id}",
        "/api/processes/{process_id}/adoptions/{code}",
        "/api/municipalities/{code}",
        "/api/health",
    ):
        assert path in doc["paths"], path
    html = (await api.get("/api/schema/")).text
    assert "/static/swagger/swagger-ui-bundle.js" in html  # served by us, works offline
    js = await api.get("/static/swagger/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000


async def test_unknown_address_is_a_json_404(api: Api) -> None:
    r = await api.get("/api/no-such-thing")
    assert r.status_code == 404
    assert r.json()["message"]
    r = await api.client.request("PUT", "/api/health")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"
