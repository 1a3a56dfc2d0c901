"""/api/me, personal tokens (/api/tokens) and the secretariat's people (/api/users)."""

from __future__ import annotations

import datetime as dt

from tests.conftest import Api, process_body

PID = "indhentning-af-boerne-og-straffeattester"


async def test_me_names_the_person_behind_a_token(api: Api) -> None:
    await api.person("mette", "editor", "253", email="mette@greve.dk")
    r = await api.get("/api/me", who="mette")
    assert r.status_code == 200
    assert r.json() == {
        "name": "Mette",
        "email": "mette@greve.dk",
        "municipality": "253",
        "role": "editor",
        "auth": "token",
        "user_id": r.json()["user_id"],
    }
    assert isinstance(r.json()["user_id"], int)
    admin = (await api.get("/api/me", who="admin")).json()
    assert (admin["role"], admin["auth"], admin["municipality"]) == ("admin", "admin-token", None)


async def test_me_without_credentials_is_401(api: Api) -> None:
    r = await api.get("/api/me")
    assert r.status_code == 401
    assert "token" in r.json()["message"]


async def test_history_adoptions_and_benefits_name_the_person(api: Api) -> None:
    await api.person("mette", "editor", "253")
    assert (await api.post("/api/processes", process_body(owner_municipality="253"), who="mette")).status_code == 201
    assert (
        await api.patch(f"/api/processes/{PID}", {"phase": "test"}, who="mette", headers={"If-Match": "*"})
    ).status_code == 200
    history = (await api.get(f"/api/processes/{PID}/history")).json()["revisions"]
    assert [entry["actor"] for entry in history] == ["Mette", "Mette"]
    adoption = await api.put(f"/api/processes/{PID}/adoptions/253", {"status": "operation"}, who="mette")
    assert adoption.status_code == 201
    assert adoption.json()["recorded_by"] == "Mette"
    benefit = await api.put(f"/api/processes/{PID}/adoptions/253/benefits/2024-05", {"cases_handled": 10}, who="mette")
    assert benefit.status_code == 201
    assert benefit.json()["recorded_by"] == "Mette"


async def test_a_personal_token_is_shown_once_and_acts_as_its_owner(api: Api) -> None:
    await api.person("mette", "editor", "253")
    r = await api.post("/api/tokens", {"name": "Robot: sygedagpenge"}, who="mette")
    assert r.status_code == 201
    body = r.json()
    assert body["token"].startswith("rpab_")
    assert body["record"]["role"] == "editor" and body["record"]["municipality"] == "253"
    assert body["record"]["owner"] == "Mette"
    api.tokens["robot"] = body["token"]
    assert (await api.get("/api/me", who="robot")).json()["name"] == "Mette"
    listed = (await api.get("/api/tokens", who="mette")).json()
    assert {t["name"] for t in listed} == {"mette's token", "Robot: sygedagpenge"}
    assert all("token" not in t and "token_hash" not in t for t in listed)


async def test_a_narrower_token_cannot_write(api: Api) -> None:
    await api.post("/api/processes", process_body(owner_municipality="253"))
    await api.person("mette", "editor", "253")
    r = await api.post("/api/tokens", {"name": "læser", "role": "reader"}, who="mette")
    assert r.status_code == 201
    api.tokens["narrow"] = r.json()["token"]
    assert (
        await api.patch(f"/api/processes/{PID}", {"phase": "test"}, who="narrow", headers={"If-Match": "*"})
    ).status_code == 403
    assert (
        await api.patch(f"/api/processes/{PID}", {"phase": "test"}, who="mette", headers={"If-Match": "*"})
    ).status_code == 200


async def test_a_token_never_has_more_than_its_owner(api: Api) -> None:
    await api.person("mette", "editor", "253")
    r = await api.post("/api/tokens", {"name": "admin please", "role": "admin"}, who="mette")
    assert r.status_code == 403
    assert "more rights" in r.json()["message"]


async def test_a_token_name_with_a_control_character_is_refused(api: Api) -> None:
    await api.person("mette", "editor", "253")
    r = await api.post("/api/tokens", {"name": "robot\x00nøgle"}, who="mette")  # PostgreSQL cannot store NUL
    assert r.status_code == 422
    assert "control characters" in r.text
    assert [t["name"] for t in (await api.get("/api/tokens", who="mette")).json()] == ["mette's token"]


async def test_an_expired_token_is_401(api: Api) -> None:
    await api.person("mette", "editor", "253")
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    r = await api.post("/api/tokens", {"name": "old", "expires_at": past}, who="mette")
    assert r.status_code == 422
    assert r.json()["field"] == "expires_at"
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).isoformat()
    r = await api.post("/api/tokens", {"name": "brief", "expires_at": soon}, who="mette")
    assert r.status_code == 201
    api.tokens["brief"] = r.json()["token"]
    assert (await api.get("/api/me", who="brief")).status_code == 200
    # the expiry is kept in the database: move it into the past instead of sleeping
    engine_url = api.client.app.state.settings.effective_database_url
    await _expire_token(engine_url, r.json()["record"]["id"])
    after = await api.get("/api/me", who="brief")
    assert after.status_code == 401
    assert "expired" in after.json()["message"]


async def _expire_token(url: str, token_id: int) -> None:
    from sqlalchemy import update

    from catalogue.models import ApiToken
    from core.db import create_engine, session_factories

    engine = create_engine(url)
    try:
        async with session_factories(engine)[1]() as session:
            past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(expires_at=past))
            await session.commit()
    finally:
        await engine.dispose()


async def test_revoke_own_token_and_not_anothers(api: Api) -> None:
    await api.person("mette", "editor", "253")
    await api.person("ole", "editor", "376")
    mine = (await api.get("/api/tokens", who="mette")).json()[0]["id"]
    assert (await api.delete(f"/api/tokens/{mine}", who="ole")).status_code == 404
    assert (await api.get("/api/me", who="mette")).status_code == 200
    assert (await api.delete(f"/api/tokens/{mine}", who="mette")).status_code == 204
    assert (await api.get("/api/me", who="mette")).status_code == 401


async def test_admin_lists_every_token_and_people(api: Api) -> None:
    await api.person("mette", "editor", "253")
    await api.person("ole", "reader", "376")
    tokens = (await api.get("/api/tokens", who="admin")).json()
    assert {"mette's token", "ole's token", "editor_253"} <= {t["name"] for t in tokens}
    assert {t["name"]: t["owner"] for t in tokens}["ole's token"] == "Ole"
    users = (await api.get("/api/users", who="admin")).json()
    assert [(u["name"], u["role"], u["municipality"]) for u in users] == [
        ("Mette", "editor", "253"),
        ("Ole", "reader", "376"),
    ]
    assert (await api.get("/api/users", who="mette")).status_code == 403
    assert (await api.get("/api/users")).status_code == 401


async def test_admin_changes_role_and_municipality(api: Api) -> None:
    ole = await api.person("ole", "reader", "376")
    await api.post("/api/processes", process_body(owner_municipality="376"))
    assert (
        await api.patch(f"/api/processes/{PID}", {"phase": "test"}, who="ole", headers={"If-Match": "*"})
    ).status_code == 403
    r = await api.patch(f"/api/users/{ole}", {"role": "editor"}, who="admin")
    assert r.status_code == 200
    assert (r.json()["role"], r.json()["role_source"]) == ("editor", "admin")
    assert (
        await api.patch(f"/api/processes/{PID}", {"phase": "test"}, who="ole", headers={"If-Match": "*"})
    ).status_code == 200
    r = await api.patch(f"/api/users/{ole}", {"municipality": "253"}, who="admin")
    assert r.json()["municipality"] == "253"
    assert (
        await api.patch(f"/api/processes/{PID}", {"phase": "analysis"}, who="ole", headers={"If-Match": "*"})
    ).status_code == 403
    bad = await api.patch(f"/api/users/{ole}", {"municipality": "999"}, who="admin")
    assert bad.status_code == 422
    assert bad.json()["field"] == "municipality"
    assert (await api.patch(f"/api/users/{ole}", {"role": "admin"}, who="editor_253")).status_code == 403
    assert (await api.patch("/api/users/9999", {"role": "admin"}, who="admin")).status_code == 404


async def test_deactivating_ends_every_token_at_once(api: Api) -> None:
    mette = await api.person("mette", "editor", "253")
    r = await api.post("/api/tokens", {"name": "robot"}, who="mette")
    api.tokens["robot"] = r.json()["token"]
    assert (await api.patch(f"/api/users/{mette}", {"active": False}, who="admin")).status_code == 200
    assert (await api.get("/api/me", who="mette")).status_code == 401
    assert (await api.get("/api/me", who="robot")).status_code == 401
    # reactivated, the person may sign in again, but the revoked tokens stay revoked
    assert (await api.patch(f"/api/users/{mette}", {"active": True}, who="admin")).json()["active"] is True
    assert (await api.get("/api/me", who="robot")).status_code == 401


async def test_a_bootstrap_token_still_works_and_makes_tokens_for_itself(api: Api) -> None:
    r = await api.post("/api/tokens", {"name": "script"}, who="editor_253")
    assert r.status_code == 201
    assert (r.json()["record"]["role"], r.json()["record"]["municipality"]) == ("editor", "253")
    assert r.json()["record"]["user_id"] is None
