"""Removing an adoption from the process page: a confirmation first, then the removal; only the municipality's own
editors (and admins) may, as in the API."""

from __future__ import annotations

from tests.conftest import Api, process_body
from tests.service.pages.conftest import PID, csrf_of, sign_in

REMOVE = f"/processes/{PID}/adoptions/376/remove"


async def _adopted(api: Api) -> None:
    assert (await api.post("/api/processes", process_body(), who="editor_253")).status_code == 201
    r = await api.put(f"/api/processes/{PID}/adoptions/376", {"status": "operation"}, who="editor_376")
    assert r.status_code == 201, r.text


async def test_an_editor_removes_their_adoption_after_confirming(api: Api) -> None:
    await _adopted(api)
    assert (await sign_in(api, "editor_376")).status_code == 303
    assert f'href="{REMOVE}"' in (await api.client.get(f"/processes/{PID}")).text
    confirm = await api.client.get(REMOVE)
    assert confirm.status_code == 200 and "Fjern Guldborgsunds anvendelse?" in confirm.text
    assert (await api.get(f"/api/processes/{PID}/adoptions/376")).status_code == 200  # nothing removed yet
    r = await api.client.post(REMOVE, data={"_csrf_token": await csrf_of(api, REMOVE)}, follow_redirects=False)
    assert r.status_code == 303
    assert (await api.get(f"/api/processes/{PID}/adoptions/376")).status_code == 404
    assert "Anvendelsen er fjernet." in (await api.client.get(r.headers["location"])).text


async def test_another_municipality_sees_no_link_and_cannot_remove(api: Api) -> None:
    await _adopted(api)
    assert (await sign_in(api, "editor_253")).status_code == 303
    assert REMOVE not in (await api.client.get(f"/processes/{PID}")).text
    assert (await api.client.get(REMOVE)).status_code == 403
    r = await api.client.post(REMOVE, data={"_csrf_token": await csrf_of(api, f"/processes/{PID}")})
    assert r.status_code == 403
    assert (await api.get(f"/api/processes/{PID}/adoptions/376")).status_code == 200


async def test_an_anonymous_visitor_is_asked_to_sign_in(api: Api) -> None:
    await _adopted(api)
    r = await api.client.get(REMOVE, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
