"""The app as create_app assembles it, across every controller: the authorisation matrix (admin / editor of the
owner / editor of another municipality / a reader of the owner / a deactivated editor of the owner / no token ×
each write; the guard is service.deps, the rules are the domains') and the OpenAPI document with its interactive
docs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import Api, process_body

PID = "indhentning-af-boerne-og-straffeattester"
WHO = ["admin", "editor_253", "editor_376", "reader_253", "deactivated_253", None]  # the process is owned by 253
# What a reader and a deactivated person get, whatever the write: refused, and a deactivated person's token is dead.
OTHERS = {"reader_253": 403, "deactivated_253": 401}

Write = Callable[[Api, str | None], Awaitable[Any]]


async def setup(api: Api) -> None:
    await api.person("reader_253", "reader", "253")
    await api.person("deactivated_253", "editor", "253", active=False)
    assert (await api.post("/api/processes", process_body(owner_municipality="253"))).status_code == 201
    assert (await api.put(f"/api/processes/{PID}/adoptions/253", {"status": "operation"})).status_code == 201


WRITES: dict[str, tuple[Write, dict[str | None, int]]] = {
    "create municipality": (
        lambda api, who: api.post("/api/municipalities", {"code": "316", "name": "Holbæk"}, who=who),
        {"admin": 201, "editor_253": 403, "editor_376": 403, None: 401},
    ),
    "patch municipality": (
        lambda api, who: api.patch("/api/municipalities/253", {"population": 51000}, who=who),
        {"admin": 200, "editor_253": 403, "editor_376": 403, None: 401},
    ),
    "create process (own municipality)": (
        lambda api, who: api.post("/api/processes", process_body(title="Ny", owner_municipality="253"), who=who),
        {"admin": 201, "editor_253": 201, "editor_376": 403, None: 401},
    ),
    "patch process": (
        lambda api, who: api.patch(f"/api/processes/{PID}", {"phase": "test"}, who=who, headers={"If-Match": "*"}),
        {"admin": 200, "editor_253": 200, "editor_376": 403, None: 401},
    ),
    "move process to another owner": (
        lambda api, who: api.patch(
            f"/api/processes/{PID}", {"owner_municipality": "376"}, who=who, headers={"If-Match": "*"}
        ),
        {"admin": 200, "editor_253": 403, "editor_376": 403, None: 401},
    ),
    "delete process": (
        lambda api, who: api.delete(f"/api/processes/{PID}", who=who),
        {"admin": 204, "editor_253": 403, "editor_376": 403, None: 401},
    ),
    "put adoption of 253": (
        lambda api, who: api.put(f"/api/processes/{PID}/adoptions/253", {"status": "stopped"}, who=who),
        {"admin": 200, "editor_253": 200, "editor_376": 403, None: 401},
    ),
    "put adoption of 376": (
        lambda api, who: api.put(f"/api/processes/{PID}/adoptions/376", {"status": "planned"}, who=who),
        {"admin": 201, "editor_253": 403, "editor_376": 201, None: 401},
    ),
    "delete adoption of 253": (
        lambda api, who: api.delete(f"/api/processes/{PID}/adoptions/253", who=who),
        {"admin": 204, "editor_253": 204, "editor_376": 403, None: 401},
    ),
}


@pytest.mark.parametrize("who", WHO, ids=lambda w: w or "no-token")
@pytest.mark.parametrize("action", list(WRITES))
async def test_matrix(api: Api, action: str, who: str | None) -> None:
    await setup(api)
    before = (await api.get(f"/api/processes/{PID}", who="admin")).json()
    write, expected = WRITES[action]
    r = await write(api, who)
    assert r.status_code == {**OTHERS, **expected}[who], (action, who, r.text)
    if r.status_code >= 400:
        assert r.json()["message"]
        after = (await api.get(f"/api/processes/{PID}", who="admin")).json()
        assert after == before  # a refused write changes nothing


async def test_reads_need_no_token(api: Api) -> None:
    await setup(api)
    for url in (
        "/api/processes",
        f"/api/processes/{PID}",
        f"/api/processes/{PID}/history",
        f"/api/processes/{PID}/adoptions",
        "/api/municipalities",
        "/api/municipalities/253",
        "/api/municipalities/253/adoptions",
        "/api/health",
    ):
        assert (await api.get(url)).status_code == 200, url


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
