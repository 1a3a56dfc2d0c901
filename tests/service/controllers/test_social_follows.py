"""Follows and notifications through the API: who may follow, what they hear of, and what stays private."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, process_body


async def _process(api: Api, who: str = "editor_253", **extra: Any) -> str:
    r = await api.post("/api/processes", process_body(**extra), who=who)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _change(api: Api, pid: str, who: str, **fields: Any) -> None:
    current = await api.get(f"/api/processes/{pid}", who=who)
    r = await api.patch(f"/api/processes/{pid}", fields, who=who, headers={"If-Match": current.headers["etag"]})
    assert r.status_code == 200, r.text


async def test_follow_and_hear_which_fields_changed(api: Api) -> None:
    pid = await _process(api)
    await api.person("rita", "reader", "376")
    await api.person("ed", "editor", "253")
    r = await api.put(f"/api/follows/process/{pid}", who="rita")
    assert r.status_code == 200
    assert r.json() == {"kind": "process", "id": pid, "title": process_body()["title"], "automatic": False}
    assert [f["id"] for f in (await api.get("/api/follows", who="rita")).json()] == [pid]

    await _change(api, pid, "ed", summary="Ny opsummering af robotten.", cases_per_year=2000)
    body = (await api.get("/api/notifications", who="rita")).json()
    assert body["unread"] == 1
    item = body["items"][0]
    assert item["kind"] == "process_changed" and "summary" in item["title"] and "cases_per_year" in item["title"]
    assert item["url"] == f"/processes/{pid}" and item["read"] is False
    # the person who made the change is not told of it
    assert (await api.get("/api/notifications", who="ed")).json()["unread"] == 0

    r = await api.post("/api/notifications/read", {"ids": [item["id"]]}, who="rita")
    assert r.status_code == 200
    assert r.json()["unread"] == 0 and r.json()["items"][0]["read"] is True

    r = await api.delete(f"/api/follows/process/{pid}", who="rita")
    assert r.status_code == 204
    await _change(api, pid, "ed", summary="Endnu en opsummering.")
    assert (await api.get("/api/notifications", who="rita")).json()["unread"] == 0


async def test_a_new_adopter_and_a_followed_municipality(api: Api) -> None:
    pid = await _process(api)
    await api.person("rita", "reader", "253")
    await api.person("ed376", "editor", "376")
    assert (await api.put("/api/follows/municipality/376", who="rita")).status_code == 200
    r = await api.put(f"/api/processes/{pid}/adoptions/376", {"status": "planned"}, who="ed376")
    assert r.status_code == 201
    items = (await api.get("/api/notifications", who="rita")).json()["items"]
    assert [i["kind"] for i in items] == ["adopted"]
    assert "Guldborgsund" in items[0]["title"]
    # replacing the adoption is not news
    r = await api.put(f"/api/processes/{pid}/adoptions/376", {"status": "operation"}, who="ed376")
    assert r.status_code == 200
    assert len((await api.get("/api/notifications", who="rita")).json()["items"]) == 1


async def test_editors_follow_their_municipalitys_adoptions_automatically(api: Api) -> None:
    pid = await _process(api)
    await api.person("ed376", "editor", "376")
    await api.person("ed253", "editor", "253")
    assert (
        await api.put(f"/api/processes/{pid}/adoptions/376", {"status": "operation"}, who="ed376")
    ).status_code == 201
    follows = (await api.get("/api/follows", who="ed376")).json()
    assert follows == [{"kind": "process", "id": pid, "title": process_body()["title"], "automatic": True}]

    await _change(api, pid, "ed253", summary="Ændret af ejeren.")
    assert (await api.get("/api/notifications", who="ed376")).json()["unread"] == 1

    assert (await api.delete(f"/api/follows/process/{pid}", who="ed376")).status_code == 204
    assert (await api.get("/api/follows", who="ed376")).json() == []
    await _change(api, pid, "ed253", summary="Ændret igen.")
    assert (await api.get("/api/notifications", who="ed376")).json()["unread"] == 1
    # following again undoes the unfollow
    assert (await api.put(f"/api/follows/process/{pid}", who="ed376")).status_code == 200
    await _change(api, pid, "ed253", summary="Og en tredje gang.")
    assert (await api.get("/api/notifications", who="ed376")).json()["unread"] == 2


async def test_follow_rights_and_bad_input(api: Api) -> None:
    pid = await _process(api)
    await api.person("rita", "reader", "376")
    assert (await api.put(f"/api/follows/process/{pid}", who=None)).status_code == 401
    r = await api.put(f"/api/follows/process/{pid}", who="editor_253")  # a bootstrap token: nobody behind it
    assert r.status_code == 422
    assert "person" in r.json()["message"]
    assert (await api.get("/api/notifications", who="editor_253")).status_code == 422
    assert (await api.put("/api/follows/robot/x", who="rita")).status_code == 422
    assert (await api.put("/api/follows/process/no-such-process", who="rita")).status_code == 404
    assert (await api.put("/api/follows/municipality/999", who="rita")).status_code == 404
    assert (await api.put("/api/follows/bot/no-such-bot", who="rita")).status_code == 404
    assert (await api.post("/api/notifications/read", {"ids": "all"}, who="rita")).status_code == 422


async def test_a_private_process_is_neither_followed_nor_told_outside(api: Api) -> None:
    pid = await _process(api, visibility="municipality")
    await api.person("rita", "reader", "376")
    await api.person("olga", "reader", "253")
    await api.person("ed", "editor", "253")
    assert (await api.put(f"/api/follows/process/{pid}", who="rita")).status_code == 404
    assert (await api.put(f"/api/follows/process/{pid}", who="olga")).status_code == 200
    assert (await api.put("/api/follows/municipality/253", who="rita")).status_code == 200
    await _change(api, pid, "ed", summary="Hemmelig ændring.")
    assert (await api.get("/api/notifications", who="rita")).json()["unread"] == 0
    assert (await api.get("/api/notifications", who="olga")).json()["unread"] == 1


async def test_mark_all_read(api: Api) -> None:
    pid = await _process(api)
    await api.person("rita", "reader", "376")
    await api.person("ed", "editor", "253")
    await api.put(f"/api/follows/process/{pid}", who="rita")
    await _change(api, pid, "ed", summary="En.")
    await _change(api, pid, "ed", summary="To.")
    assert (await api.get("/api/notifications", who="rita")).json()["unread"] == 2
    r = await api.post("/api/notifications/read", who="rita")
    assert r.status_code == 200
    assert r.json()["unread"] == 0
