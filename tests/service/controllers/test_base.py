"""service.controllers.base: every write of the JSON API needs a token and answers 401 without one, before its
body is read; reading stays open. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from service.deps import READ_METHODS

# Writes that take no bearer token: the Git host's push events are signed with the webhook secret instead.
SIGNED_INSTEAD = {("POST", "/api/hooks/git")}


def _path(path_format: str) -> str:
    """A concrete path for a route's template: a number for an id, else a word (a month for a month)."""
    return re.sub(
        r"\{(\w+)\}", lambda m: "2024-05" if m.group(1) == "month" else "1" if "id" in m.group(1) else "x", path_format
    )


async def test_every_write_of_the_api_answers_401_without_a_token(client: AsyncTestClient[Any]) -> None:
    writes = sorted(
        (method, route.path_format)
        for route in client.app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith(("/api/", "/feeds"))
        for method in route.methods - READ_METHODS
        if (method, route.path_format) not in SIGNED_INSTEAD
    )
    assert len(writes) > 30  # the API's writes were found
    answers = {}
    for method, path in writes:
        r = await client.request(
            method, _path(path), content=b"{not json", headers={"Content-Type": "application/json"}
        )
        answers[(method, path)] = r.status_code
    assert {k: v for k, v in answers.items() if v != 401} == {}


async def test_reading_needs_no_token(client: AsyncTestClient[Any]) -> None:
    for path in ("/api/processes", "/api/benefits", "/api/ideas", "/api/bots", "/api/municipalities"):
        assert (await client.get(path)).status_code == 200, path
