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


async def test_work_after_the_commit_that_fails_does_not_answer_503(api: Api) -> None:
    """A 503 "busy, retry" means nothing was written: once the write has committed, a failing index drain (SQLite
    busy) is logged and stays queued; the client gets its 201, not a 503 that a retry would duplicate."""
    from sqlalchemy.exc import OperationalError

    from tests.conftest import process_body

    indexer = api.client.app.state.indexer

    async def busy() -> int:
        raise OperationalError("DELETE FROM index_queue", {}, Exception("database is locked"))

    original = indexer.drain
    indexer.drain = busy
    try:
        r = await api.post("/api/processes", process_body("Skrevet trods travl kø"), who="editor_253")
    finally:
        indexer.drain = original
    assert r.status_code == 201
    listed = await api.get("/api/processes?limit=100")
    assert [p["title"] for p in listed.json()["items"]].count("Skrevet trods travl kø") == 1


async def test_an_after_commit_action_that_fails_does_not_answer_503(api: Api) -> None:
    """A side effect registered with core.db.after_commit that fails is logged; the committed write answers 201."""
    from core.db import after_commit
    from tests.conftest import process_body

    state = api.client.app.state
    original = state.indexer.index_before_commit

    async def with_failing_side_effect(session: object) -> None:
        def fail() -> None:
            raise OSError("the mirror could not be moved")

        after_commit(session, fail)
        await original(session)

    state.indexer.index_before_commit = with_failing_side_effect
    try:
        r = await api.post("/api/processes", process_body("Skrevet trods fejlende efterarbejde"), who="editor_253")
    finally:
        state.indexer.index_before_commit = original
    assert r.status_code == 201


async def test_ids_beyond_an_integer_column_and_unencodable_hosts_are_4xx_not_500(api: Api) -> None:
    """Found by the schemathesis run: on PostgreSQL an id above 2^31 - 1 overflowed the INTEGER column, and a
    webhook host IDNA cannot encode raised UnicodeError; both answer 422 now."""
    for url in ("/api/tokens/2147483648", "/api/comments/8957037141882247168", "/api/webhooks/99999999999"):
        r = await api.delete(url)
        assert r.status_code == 422, url
    r = await api.get("/api/documents/3562464754")
    assert r.status_code == 422
    r = await api.post(
        "/api/webhooks",
        {"url": "https://" + "a" * 70 + ".dk/hook", "secret": "0123456789abcdef", "events": ["process.changed"]},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "url"


async def test_screening_questions_that_would_not_read_back_are_refused(api: Api) -> None:
    """Found by the schemathesis run: a blank text or a weight that rounds to 0.00 was kept, and the answer then
    broke its own schema."""
    good = {"id": "b", "text": "Hvor mange sager?", "dimension": "ease"}
    for bad in ({"id": "a", "text": "   ", "dimension": "potential"}, {**good, "id": "a", "weight": 0.001}):
        r = await api.put("/api/screening/questions", [{**bad, "dimension": "potential"}, good])
        assert r.status_code == 422, bad


async def test_a_write_refused_by_its_dependencies_leaves_no_lock_behind(api: Api) -> None:
    """A write whose bearer token is unknown fails in a dependency after its session began (on SQLite with the
    write lock). That session is closed at once: the next writes go through, not 503 after the busy timeout."""
    import time

    from tests.conftest import process_body

    for _ in range(3):
        r = await api.client.put(
            "/api/processes/ingen/adoptions/253", json={"status": "planned"}, headers={"Authorization": "Bearer nej"}
        )
        assert r.status_code == 401
    started = time.monotonic()
    r = await api.post("/api/processes", process_body("Skrevet efter afviste forsøg"), who="editor_253")
    assert r.status_code == 201
    assert time.monotonic() - started < 5
