"""service.idempotency: a POST retried with the same Idempotency-Key gets the first answer, not a second write."""

from __future__ import annotations

from tests.conftest import Api, process_body


async def test_a_retried_post_writes_once_and_replays_the_answer(api: Api) -> None:
    body = process_body(owner_municipality="253")
    first = await api.post("/api/processes", body, headers={"Idempotency-Key": "opret-attester-1"})
    assert first.status_code == 201
    again = await api.post("/api/processes", body, headers={"Idempotency-Key": "opret-attester-1"})
    assert again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert (await api.get("/api/processes")).json()["total"] == 1
    # without a key, the same request is a new write
    assert (await api.post("/api/processes", body)).json()["id"] != first.json()["id"]


async def test_a_key_is_per_caller_and_per_request(api: Api) -> None:
    body = process_body(owner_municipality="253")
    await api.post("/api/processes", body, headers={"Idempotency-Key": "k"})
    other = await api.post(
        "/api/processes", process_body("Anden proces", owner_municipality="253"), headers={"Idempotency-Key": "k"}
    )
    assert other.status_code == 422
    assert "different request" in other.json()["message"]
    # another caller with the same key is another request
    theirs = await api.post(
        "/api/processes", process_body("Køges proces"), who="editor_376", headers={"Idempotency-Key": "k"}
    )
    assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers


async def test_a_refused_request_is_replayed_too_but_a_bad_key_is_400(api: Api) -> None:
    bad = process_body(title="")
    first = await api.post("/api/processes", bad, headers={"Idempotency-Key": "tom-titel"})
    assert first.status_code == 422
    again = await api.post("/api/processes", bad, headers={"Idempotency-Key": "tom-titel"})
    assert (again.status_code, again.json()) == (422, first.json())
    r = await api.post("/api/processes", process_body(), headers={"Idempotency-Key": "x" * 201})
    assert r.status_code == 400
