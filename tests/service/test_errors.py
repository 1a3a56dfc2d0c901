"""service.errors: API errors are JSON, an unknown address included."""

from __future__ import annotations

from tests.conftest import Api


async def test_unknown_address_is_a_json_404(api: Api) -> None:
    r = await api.get("/api/no-such-thing")
    assert r.status_code == 404
    assert r.json()["message"]
    r = await api.client.request("PUT", "/api/health")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"
