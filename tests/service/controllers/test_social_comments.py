"""Comments on processes and bots: who may write, change and remove them, Markdown made safe, answers one level
deep, and followers told."""

from __future__ import annotations

from tests.conftest import Api, process_body


async def _process(api: Api, **extra: object) -> str:
    r = await api.post("/api/processes", process_body(**extra), who="editor_253")
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_readers_comment_and_answer_and_markdown_is_safe(api: Api) -> None:
    pid = await _process(api)
    await api.person("rita", "reader", "376")
    await api.person("ed", "editor", "253")
    r = await api.post(
        f"/api/processes/{pid}/comments", {"body": "Hvordan **logger** I ind? <script>alert(1)</script>"}, who="rita"
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["author"] == "Rita" and first["municipality"] == "376" and first["municipality_name"] == "Guldborgsund"
    assert "<strong>logger</strong>" in first["html"] and "<script>" not in first["html"]

    r = await api.post(f"/api/processes/{pid}/comments", {"body": "Med NemLog-in.", "parent": first["id"]}, who="ed")
    assert r.status_code == 201
    answer = r.json()
    # one level deep only
    r = await api.post(f"/api/processes/{pid}/comments", {"body": "Tak!", "parent": answer["id"]}, who="rita")
    assert r.status_code == 422
    assert r.json()["field"] == "parent"

    thread = (await api.get(f"/api/processes/{pid}/comments")).json()
    assert [c["id"] for c in thread] == [first["id"]]
    assert [a["id"] for a in thread[0]["answers"]] == [answer["id"]]
    # the first writer now follows the process and hears of the answer
    items = (await api.get("/api/notifications", who="rita")).json()["items"]
    assert [i["kind"] for i in items] == ["comment"]
    assert items[0]["url"] == f"/processes/{pid}#kommentar-{answer['id']}"


async def test_only_author_or_admin_changes_or_removes(api: Api) -> None:
    pid = await _process(api)
    await api.person("rita", "reader", "376")
    await api.person("olga", "reader", "376")
    c = (await api.post(f"/api/processes/{pid}/comments", {"body": "Første udgave"}, who="rita")).json()
    assert (await api.patch(f"/api/comments/{c['id']}", {"body": "Hacket"}, who="olga")).status_code == 403
    r = await api.patch(f"/api/comments/{c['id']}", {"body": "Anden udgave"}, who="rita")
    assert r.status_code == 200
    assert r.json()["body"] == "Anden udgave" and r.json()["edited_at"] is not None
    assert (await api.delete(f"/api/comments/{c['id']}", who="olga")).status_code == 403
    assert (await api.delete(f"/api/comments/{c['id']}", who="admin")).status_code == 204
    assert (await api.get(f"/api/processes/{pid}/comments")).json() == []
    assert (await api.patch("/api/comments/999", {"body": "x"}, who="rita")).status_code == 404


async def test_bad_input_and_missing_rights(api: Api) -> None:
    pid = await _process(api)
    await api.person("rita", "reader", "376")
    assert (await api.post(f"/api/processes/{pid}/comments", {"body": "Hej"}, who=None)).status_code == 401
    assert (await api.post(f"/api/processes/{pid}/comments", {"body": "Hej"}, who="editor_253")).status_code == 422
    assert (await api.post(f"/api/processes/{pid}/comments", {"body": ""}, who="rita")).status_code == 422
    assert (await api.post(f"/api/processes/{pid}/comments", {"body": "x" * 10_001}, who="rita")).status_code == 422
    assert (await api.post("/api/processes/nope/comments", {"body": "Hej"}, who="rita")).status_code == 404
    assert (await api.post("/api/bots/nope/comments", {"body": "Hej"}, who="rita")).status_code == 404


async def test_comments_on_a_private_process_stay_inside(api: Api) -> None:
    pid = await _process(api, visibility="municipality")
    await api.person("rita", "reader", "376")
    await api.person("olga", "reader", "253")
    assert (await api.post(f"/api/processes/{pid}/comments", {"body": "Hej"}, who="olga")).status_code == 201
    assert (await api.get(f"/api/processes/{pid}/comments", who="rita")).status_code == 404
    assert (await api.post(f"/api/processes/{pid}/comments", {"body": "Hej"}, who="rita")).status_code == 404
