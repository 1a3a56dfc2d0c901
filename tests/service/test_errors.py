"""service.errors: API errors are JSON, an unknown address included."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Api


async def test_unknown_address_is_a_json_404(api: Api) -> None:
    r = await api.get("/api/no-such-thing")
    assert r.status_code == 404
    assert r.json()["message"]
    r = await api.client.request("PUT", "/api/health")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"


async def test_a_failing_search_engine_answers_503_with_retry_after_not_500(api: Api) -> None:
    from search.backends.base import SearchError

    backend = api.client.app.state.indexer.backend

    def broken(*_: object) -> None:
        raise SearchError("the engine does not answer")

    original = backend.search
    backend.search = broken
    try:
        r = await api.get("/api/search?q=attest")
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "5"
        assert r.json()["error"] == "search_unavailable"
        page = await api.client.get("/search?q=attest")
        assert page.status_code == 503
        assert "text/html" in page.headers["content-type"]
    finally:
        backend.search = original


def test_a_database_that_is_down_answers_503_with_retry_after(tmp_path: Path) -> None:
    """PostgreSQL not listening (a closed port): data requests answer 503 within the connect timeout, not 500."""
    import socket

    from litestar.testing import TestClient

    from service.app import create_app
    from service.settings import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/down"
    app = create_app(Settings(data_dir=tmp_path, database_url=url, search_engine="fts5"), migrate=False)
    with TestClient(app) as client:
        r = client.get("/api/processes")
        assert r.status_code == 503
        assert r.headers["retry-after"] == "5" and "retry" in r.json()["message"]
        assert client.get("/api/health/ready").status_code == 503
