"""/api/ideas, screening, votes and decisions: rights (readers propose and vote but do not screen or decide),
the formulas through the API, and the board's order on a small example."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

ALL_FIVES = {q: 5 for q in ("rule_based", "digital_input", "structured_input", "volume", "stability", "documentation")}


def idea(title: str, **extra: Any) -> dict[str, Any]:
    body = {
        "title": title,
        "domain": "oekonomi",
        "manual_today": "En medarbejder taster fakturaerne ind fra PDF i økonomisystemet.",
        "cases_per_year": 1200,
        "minutes_per_case": 5,
        "systems": ["Prisme"],
    }
    body.update(extra)
    return body


async def propose(api: Api, who: str, title: str, **extra: Any) -> str:
    r = await api.post("/api/ideas", idea(title, **extra), who=who)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_a_reader_proposes_an_idea_owned_by_their_municipality(api: Api) -> None:
    await api.person("rita", "reader", "253")
    r = await api.post("/api/ideas", idea("Indtastning af fakturaer"), who="rita")
    assert r.status_code == 201
    body = r.json()
    assert (body["phase"], body["owner_municipality"], body["systems"]) == ("idea", "253", ["Prisme"])
    assert "taster fakturaerne" in body["description"]
    history = (await api.get(f"/api/processes/{body['id']}/history")).json()["revisions"]
    assert history[0]["actor"] == "Rita"


async def test_proposing_needs_a_sign_in_and_a_title(api: Api) -> None:
    assert (await api.post("/api/ideas", idea("Uden nøgle"), who=None)).status_code == 401
    r = await api.post("/api/ideas", idea(""), who="editor_253")
    assert r.status_code == 422
    assert r.json()["field"] == "title"


async def test_questions_and_a_screening_computed_exactly(api: Api) -> None:
    questions = (await api.get("/api/screening/questions")).json()
    assert [q["id"] for q in questions][:2] == ["rule_based", "digital_input"]
    pid = await propose(api, "editor_253", "Indtastning af fakturaer")
    answers = {
        "rule_based": 5,
        "digital_input": 4,
        "structured_input": 2,
        "volume": 3,
        "stability": 5,
        "documentation": 1,
    }
    r = await api.put(f"/api/processes/{pid}/screening", {"answers": answers}, who="editor_253")
    assert r.status_code == 201
    s = r.json()
    assert (s["score"], s["automation_potential"], s["ease"], s["effective_score"]) == (62.5, 66.7, 50.0, 62.5)
    r = await api.put(f"/api/processes/{pid}/screening", {"answers": answers, "final_score": 80}, who="editor_253")
    assert r.status_code == 200
    assert (r.json()["score"], r.json()["final_score"], r.json()["effective_score"]) == (62.5, 80.0, 80.0)
    # Køge screens it too: the process's figure is the mean of both effective scores
    await api.put(f"/api/processes/{pid}/screening", {"answers": ALL_FIVES}, who="editor_376")
    combined = (await api.get(f"/api/processes/{pid}/screening")).json()
    assert [s["municipality"] for s in combined["screenings"]] == ["253", "376"]
    assert combined["score"] == 90.0


async def test_a_screening_must_answer_every_question_within_1_to_5(api: Api) -> None:
    pid = await propose(api, "editor_253", "Indtastning af fakturaer")
    r = await api.put(f"/api/processes/{pid}/screening", {"answers": {"rule_based": 3}}, who="editor_253")
    assert r.status_code == 422
    assert "missing" in r.json()["message"] and r.json()["field"] == "answers"
    r = await api.put(f"/api/processes/{pid}/screening", {"answers": {**ALL_FIVES, "volume": 6}}, who="editor_253")
    assert r.status_code == 422
    r = await api.put(f"/api/processes/{pid}/screening", {"answers": {**ALL_FIVES, "colour": 3}}, who="editor_253")
    assert r.status_code == 422
    assert "colour" in r.json()["message"]


async def test_screening_rights(api: Api) -> None:
    await api.person("rita", "reader", "253")
    pid = await propose(api, "editor_253", "Indtastning af fakturaer")
    body = {"answers": ALL_FIVES}
    assert (await api.put(f"/api/processes/{pid}/screening", body, who="rita")).status_code == 403
    other = {"answers": ALL_FIVES, "municipality": "376"}
    assert (await api.put(f"/api/processes/{pid}/screening", other, who="editor_253")).status_code == 403
    assert (await api.put(f"/api/processes/{pid}/screening", body, who="admin")).status_code == 422  # whose?
    assert (await api.put(f"/api/processes/{pid}/screening", other, who="admin")).status_code == 201


async def test_admins_change_the_questionnaire(api: Api) -> None:
    new = [
        {"id": "rules", "text": "Regelbaseret?", "dimension": "potential", "weight": 3},
        {"id": "stable", "text": "Stabil?", "dimension": "ease", "weight": 1},
    ]
    assert (await api.put("/api/screening/questions", new, who="editor_253")).status_code == 403
    r = await api.put("/api/screening/questions", new, who="admin")
    assert r.status_code == 200
    assert [q["id"] for q in r.json()] == ["rules", "stable"]
    pid = await propose(api, "editor_253", "Indtastning af fakturaer")
    s = await api.put(f"/api/processes/{pid}/screening", {"answers": {"rules": 5, "stable": 1}}, who="editor_253")
    assert (s.json()["score"], s.json()["automation_potential"], s.json()["ease"]) == (75.0, 100.0, 0.0)
    only_ease = [{"id": "stable", "text": "Stabil?", "dimension": "ease"}]
    assert (await api.put("/api/screening/questions", only_ease, who="admin")).status_code == 422


async def test_votes_are_per_person_and_idempotent(api: Api) -> None:
    await api.person("rita", "reader", "253")
    await api.person("ole", "editor", "376")
    pid = await propose(api, "editor_253", "Indtastning af fakturaer")
    assert (await api.put(f"/api/processes/{pid}/vote", who="rita")).json() == {
        "process": pid,
        "votes": 1,
        "voted": True,
    }
    assert (await api.put(f"/api/processes/{pid}/vote", who="rita")).json()["votes"] == 1
    assert (await api.put(f"/api/processes/{pid}/vote", who="ole")).json()["votes"] == 2
    r = await api.delete(f"/api/processes/{pid}/vote", who="rita")
    assert r.status_code == 200
    assert r.json() == {"process": pid, "votes": 1, "voted": False}
    assert (await api.put(f"/api/processes/{pid}/vote", who=None)).status_code == 401
    bootstrap = await api.put(f"/api/processes/{pid}/vote", who="editor_253")  # a token with no person behind it
    assert bootstrap.status_code == 422


async def test_the_board_ranks_by_interest_score_and_hours(api: Api) -> None:
    a = await propose(api, "editor_253", "Indtastning af fakturaer")  # 1200 × 5 min
    b = await propose(api, "editor_376", "Bestilling af tolke", cases_per_year=100, minutes_per_case=6)
    c = await propose(api, "editor_253", "Opfølgning på sygedagpenge", domain="beskaeftigelse", systems=["KMD"])
    for code, who in (("253", "editor_253"), ("376", "editor_376")):
        await api.put(f"/api/processes/{a}/adoptions/{code}", {"status": "interested"}, who=who)
    await api.put(f"/api/processes/{b}/adoptions/376", {"status": "interested"}, who="editor_376")
    await api.put(f"/api/processes/{a}/screening", {"answers": ALL_FIVES}, who="editor_253")  # 100, potential 100
    await api.put(f"/api/processes/{c}/screening", {"answers": ALL_FIVES, "final_score": 50}, who="editor_253")
    board = (await api.get("/api/ideas")).json()
    items = {i["id"]: i for i in board["items"]}
    # a: 2 interested, score 100, hours 2 × 1200 × 5/60 × 100 % = 200 → 100 × (.4 + .4 + .2) = 100
    # b: 1 interested, no screening, no rate → 0 hours → 100 × (.4 × 1/2) = 20
    # c: 0 interested, score 50 → 100 × (.4 × .5) = 20
    assert (items[a]["interested"], items[a]["combined_expected_hours"], items[a]["priority"]) == (
        ["253", "376"],
        200.0,
        100.0,
    )
    assert (items[b]["priority"], items[c]["priority"]) == (20.0, 20.0)
    assert [i["id"] for i in board["items"]] == [a, b, c]  # ties by title: "Bestilling" before "Opfølgning"
    by_score = [i["id"] for i in (await api.get("/api/ideas?sort=score")).json()["items"]]
    assert by_score == [a, c, b]
    only = (await api.get("/api/ideas?domain=beskaeftigelse")).json()["items"]
    assert [i["id"] for i in only] == [c]
    assert [i["id"] for i in (await api.get("/api/ideas?system=kmd")).json()["items"]] == [c]
    assert (await api.get("/api/ideas?sort=random")).status_code == 422


async def test_decisions_move_the_idea_and_are_for_admins(api: Api) -> None:
    await api.person("rita", "reader", "253")
    a = await propose(api, "editor_253", "Indtastning af fakturaer")
    b = await propose(api, "editor_376", "Indlæsning af fakturaer")
    c = await propose(api, "editor_376", "Robot der brygger kaffe")
    approve = {"decision": "approve", "building_municipality": "376"}
    assert (await api.post(f"/api/processes/{a}/decision", approve, who="rita")).status_code == 403
    assert (await api.post(f"/api/processes/{a}/decision", approve, who="editor_253")).status_code == 403
    r = await api.post(f"/api/processes/{a}/decision", approve, who="admin")
    assert r.status_code == 201
    process = (await api.get(f"/api/processes/{a}")).json()
    assert (process["phase"], process["status"], process["owner_municipality"]) == ("analysis", "active", "376")
    history = (await api.get(f"/api/processes/{a}/history")).json()["revisions"]
    assert history[-1]["action"] == "updated"
    dup = await api.post(f"/api/processes/{b}/decision", {"decision": "duplicate", "original": a}, who="admin")
    assert dup.status_code == 201
    assert (await api.get(f"/api/processes/{b}")).json()["duplicate_of"] == a
    no_reason = await api.post(f"/api/processes/{c}/decision", {"decision": "reject"}, who="admin")
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "reason"
    r = await api.post(f"/api/processes/{c}/decision", {"decision": "reject", "reason": "Ingen gevinst"}, who="admin")
    assert r.status_code == 201
    assert (await api.get(f"/api/processes/{c}")).json()["status"] == "rejected"
    decisions = (await api.get(f"/api/processes/{c}/decisions")).json()
    assert [(d["decision"], d["reason"]) for d in decisions] == [("reject", "Ingen gevinst")]
    assert (await api.get("/api/ideas")).json()["items"] == []  # decided ideas leave the board


async def test_qualitative_benefits_are_kept_and_averaged(api: Api) -> None:
    pid = await propose(api, "editor_253", "Indtastning af fakturaer", minutes_per_case=5)
    await api.put(f"/api/processes/{pid}/adoptions/253", {"status": "operation"}, who="editor_253")
    base = f"/api/processes/{pid}/adoptions/253/benefits"
    r = await api.put(
        f"{base}/2024-05",
        {"cases_handled": 100, "quality": 4, "work_environment": 5, "qualitative_note": "Færre fejl"},
        who="editor_253",
    )
    assert r.status_code == 201
    assert (r.json()["quality"], r.json()["work_environment"], r.json()["citizen_experience"]) == (4, 5, None)
    await api.put(f"{base}/2024-06", {"cases_handled": 100, "quality": 3}, who="editor_253")
    bad = await api.put(f"{base}/2024-07", {"cases_handled": 1, "quality": 6}, who="editor_253")
    assert bad.status_code == 422
    totals = (await api.get(f"/api/benefits?process={pid}")).json()["totals"]
    assert (totals["quality"], totals["work_environment"], totals["citizen_experience"]) == (3.5, 5.0, None)
