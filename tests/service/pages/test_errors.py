"""service.pages.errors: errors as pages in the design, API errors as JSON, no stack traces."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.service.pages.conftest import PID


@pytest.mark.parametrize("url", ["/processes/findes-ikke", "/nothing-here", "/municipalities/999"])
async def test_missing_page_is_a_404_page_in_the_design(site: Api, url: str) -> None:
    r = await site.client.get(url)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Siden findes ikke" in r.text and "/static/css/site.css" in r.text
    assert "Traceback" not in r.text and "NotFound" not in r.text


async def test_api_errors_stay_json(site: Api) -> None:
    r = await site.client.get("/api/processes/findes-ikke")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await site.client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"


async def test_server_error_page_shows_no_stack_trace(site: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from catalogue.services import ProcessService

    async def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ProcessService, "history", boom)
    r = await site.client.get(f"/processes/{PID}")
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("text/html")
    assert "Der skete en fejl" in r.text
    assert "secret internals" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
