"""service.controllers.processes: processes, their adoptions and the vocabularies through the API."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalogue.models import ProcessTerm, Term, TermUseChange
from catalogue.schemas import ProcessCreate
from catalogue.services import ProcessService, fold_kept_counts
from core.actors import Actor
from core.db import create_engine, session_factories
from tests.conftest import Api, process_body

URL = "/api/processes"
PID = "indhentning-af-boerne-og-straffeattester"


async def create(api: Api, who: str = "editor_253", **extra: Any) -> dict[str, Any]:
    r = await api.post(URL, process_body(**extra), who=who)
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_returns_the_full_process_with_etag_and_derived_fields(api: Api) -> None:
    r = await api.post(URL, process_body(), who="editor_253")
    assert r.status_code == 201
    p = r.json()
    assert r.headers["etag"] == '"1"'
    assert p["id"] == PID
    assert p["owner_municipality"] == "253"  # an editor creates for its own municipality
    assert p["domain"] == "hr_og_loen" and p["domain_label"] == "HR og løn"
    assert p["phase_label"] == "Drift"
    assert p["systems"] == ["Politiets attestløsning", "eDoc"]
    # 1200 × 3.2 / 60 × 85 / 100 = 54.4 hours, not rounded to whole hours
    assert p["expected_hours_per_year"] == pytest.approx(54.4)
    assert p["adoption_count"] == 0 and p["adopted_by"] == []
    assert p["version"] == 1
    assert p["created_at"].endswith("Z")


async def test_expected_hours_keep_their_decimals(api: Api) -> None:
    p = await create(api, cases_per_year=7, minutes_per_case=1.5, automation_rate=33)
    assert p["expected_hours_per_year"] == pytest.approx(7 * 1.5 / 60 * 33 / 100)
    p = await create(api, title="Uden tal", cases_per_year=None)
    assert p["expected_hours_per_year"] is None


async def test_slugs_are_unique_and_stable(api: Api) -> None:
    first = await create(api)
    second = await create(api)
    assert (first["id"], second["id"]) == (PID, PID + "-2")
    r = await api.patch(f"{URL}/{PID}", {"title": "Et helt nyt navn"}, who="editor_253", headers={"If-Match": "*"})
    assert r.status_code == 200
    assert r.json()["id"] == PID  # the id does not follow the title


async def test_admin_must_name_the_owner(api: Api) -> None:
    r = await api.post(URL, process_body())
    assert r.status_code == 422
    assert r.json()["field"] == "owner_municipality"
    r = await api.post(URL, process_body(owner_municipality="376"))
    assert r.status_code == 201 and r.json()["owner_municipality"] == "376"
    r = await api.post(URL, process_body(owner_municipality="999"))
    assert r.status_code == 404 and "999" in r.json()["message"]


async def test_editor_cannot_create_for_another_municipality(api: Api) -> None:
    r = await api.post(URL, process_body(owner_municipality="376"), who="editor_253")
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"title": "   "}, "title"),
        ({"summary": "y" * 281}, "summary"),
        ({"description": "z" * 20_001}, "description"),
        ({"domain": "rumfart"}, "domain"),
        ({"phase": "done"}, "phase"),
        ({"kle": "27.24"}, "kle"),
        ({"automation_rate": 101}, "automation_rate"),
        ({"automation_rate": -1}, "automation_rate"),
        ({"cases_per_year": -5}, "cases_per_year"),
        ({"cases_per_year": "many"}, "cases_per_year"),
        ({"minutes_per_case": -0.5}, "minutes_per_case"),
        ({"personal_data": "yes"}, "personal_data"),
        ({"systems": "eDoc"}, "systems"),
        ({"contact": {"name": "A", "email": "not-an-email"}}, "contact.email"),
        ({"visibility": "public"}, "visibility"),
        ({"colour": "blue"}, "colour"),
        ({"status": "duplicate"}, "duplicate_of"),
        ({"derived_from": "findes-ikke"}, "derived_from"),
    ],
)
async def test_bad_input_is_a_4xx_naming_the_field_and_writes_nothing(
    api: Api, change: dict[str, Any], field: str
) -> None:
    r = await api.post(URL, process_body(**change), who="editor_253")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == field, body
    assert body["message"]
    assert (await api.get(URL)).json()["total"] == 0


async def test_malformed_json_is_a_400(api: Api) -> None:
    r = await api.post(URL, who="editor_253", content=b'{"title": ', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert "JSON" in r.json()["message"]
    r = await api.post(URL, who="editor_253", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert r.status_code == 422  # well-formed JSON, but not an object


async def test_get_has_etag_and_patch_honours_if_match(api: Api) -> None:
    await create(api)
    r = await api.get(f"{URL}/{PID}")
    assert r.headers["etag"] == '"1"'
    r = await api.patch(f"{URL}/{PID}", {"phase": "retired"}, who="editor_253", headers={"If-Match": '"1"'})
    assert r.status_code == 200
    assert r.headers["etag"] == '"2"' and r.json()["version"] == 2
    stale = await api.patch(f"{URL}/{PID}", {"phase": "test"}, who="editor_253", headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert (await api.get(f"{URL}/{PID}")).json()["phase"] == "retired"
    weak = await api.patch(f"{URL}/{PID}", {"phase": "test"}, who="editor_253", headers={"If-Match": 'W/"2"'})
    assert weak.status_code == 200


async def test_patch_without_if_match_is_428_and_changes_nothing(api: Api) -> None:
    await create(api)
    r = await api.patch(f"{URL}/{PID}", {"phase": "test"}, who="editor_253")
    assert r.status_code == 428
    body = r.json()
    assert body["error"] == "precondition_required" and "If-Match" in body["message"] and '"1"' in body["message"]
    assert (await api.get(f"{URL}/{PID}")).json()["phase"] == "operation"


async def test_patch_without_if_match_by_another_municipality_is_still_403(api: Api) -> None:
    await create(api)
    assert (await api.patch(f"{URL}/{PID}", {"phase": "test"}, who="editor_376")).status_code == 403


async def test_if_match_star_overwrites(api: Api) -> None:
    await create(api)
    r = await api.patch(f"{URL}/{PID}", {"phase": "test"}, who="editor_253", headers={"If-Match": "*"})
    assert r.status_code == 200 and r.json()["phase"] == "test"


async def test_patch_without_changes_keeps_the_version(api: Api) -> None:
    await create(api)
    r = await api.patch(
        f"{URL}/{PID}",
        {"phase": "operation", "systems": ["Politiets attestløsning", "edoc"]},
        who="editor_253",
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200 and r.json()["version"] == 1
    assert len((await api.get(f"{URL}/{PID}/history")).json()["revisions"]) == 1


async def test_patch_only_vocabulary_bumps_the_version_once(api: Api) -> None:
    await create(api)
    r = await api.patch(f"{URL}/{PID}", {"tags": ["GDPR", "attester"]}, who="editor_253", headers={"If-Match": "*"})
    assert r.json()["version"] == 2 and r.json()["tags"] == ["GDPR", "attester"]


async def test_history_records_who_changed_what(api: Api) -> None:
    await create(api)
    await api.patch(
        f"{URL}/{PID}", {"phase": "retired", "cases_per_year": 900}, who="editor_253", headers={"If-Match": "*"}
    )
    r = await api.get(f"{URL}/{PID}/history")
    assert r.status_code == 200
    revisions = r.json()["revisions"]
    assert [rev["action"] for rev in revisions] == ["created", "updated"]
    last = revisions[-1]
    assert last["version"] == 2
    assert "253" in last["actor"]
    changes = {c["field"]: (c["old"], c["new"]) for c in last["changes"]}
    assert changes == {"phase": ("operation", "retired"), "cases_per_year": (1200, 900)}


async def test_duplicate_status_needs_duplicate_of_and_is_cleared_when_status_changes(api: Api) -> None:
    await create(api)
    other = await create(api, title="Straffeattester til frivillige")
    r = await api.patch(
        f"{URL}/{other['id']}",
        {"status": "duplicate", "duplicate_of": PID},
        who="editor_253",
        headers={"If-Match": "*"},
    )
    assert r.status_code == 200 and r.json()["duplicate_of"] == PID
    r = await api.delete(f"{URL}/{PID}")
    assert r.status_code == 409  # something is marked as its duplicate
    r = await api.patch(f"{URL}/{other['id']}", {"status": "active"}, who="editor_253", headers={"If-Match": "*"})
    assert r.json()["duplicate_of"] is None


async def test_derived_from_cannot_make_a_cycle(api: Api) -> None:
    a = await create(api, title="Original")
    b = await create(api, title="Kopi", derived_from=a["id"])
    r = await api.patch(f"{URL}/{a['id']}", {"derived_from": b["id"]}, who="editor_253", headers={"If-Match": "*"})
    assert r.status_code == 422 and r.json()["field"] == "derived_from"


async def test_list_filters(api: Api) -> None:
    await create(api)
    await create(
        api,
        who="editor_376",
        title="Betaling af tolkeregninger",
        domain="social",
        phase="development",
        systems=["KMD Opus"],
        technologies=["Python"],
        tags=[],
    )
    await api.put(f"{URL}/{PID}/adoptions/376", {"status": "operation"}, who="editor_376")

    async def ids(query: str) -> list[str]:
        r = await api.get(f"{URL}?{query}")
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["items"]]

    assert await ids("domain=social") == ["betaling-af-tolkeregninger"]
    assert await ids("phase=operation") == [PID]
    assert await ids("status=active") == ["betaling-af-tolkeregninger", PID]
    assert await ids("system=kmd%20opus") == ["betaling-af-tolkeregninger"]  # vocabularies ignore case
    assert await ids("technology=Power%20Automate") == [PID]
    assert await ids("municipality=253") == [PID]  # owner
    assert sorted(await ids("municipality=376")) == ["betaling-af-tolkeregninger", PID]  # owner or adopter
    assert await ids("q=tolke") == ["betaling-af-tolkeregninger"]
    page = (await api.get(f"{URL}?limit=1&offset=1")).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    assert (await api.get(f"{URL}?domain=rumfart")).status_code == 422
    assert (await api.get(f"{URL}?limit=100000")).status_code == 422


async def test_vocabulary_counts(api: Api) -> None:
    await create(api)
    await create(api, title="Anden proces", systems=["EDOC"])
    r = await api.get("/api/vocabularies/system")
    counts = {t["label"]: t["count"] for t in r.json()}
    assert counts["eDoc"] == 2  # "EDOC" is the same term, shown with its first spelling
    assert (await api.get("/api/vocabularies/colour")).status_code == 422


async def _links_counted(reads: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """The system links counted from `process_terms` itself (what the kept counts must equal), by label."""
    async with reads() as session:
        rows = await session.execute(
            select(Term.label, func.count(ProcessTerm.process_id))
            .join(ProcessTerm, ProcessTerm.term_id == Term.id)
            .where(Term.kind == "system")
            .group_by(Term.label)
        )
        return {label: int(n) for label, n in rows.all()}


async def test_vocabulary_counts_follow_every_change_and_every_fold(api: Api) -> None:
    engine = create_engine(api.client.app.state.settings.effective_database_url)  # the app has its own loop
    reads, writes = session_factories(engine)

    async def counts(who: str | None = None) -> dict[str, int]:
        r = await api.get("/api/vocabularies/system", who=who)
        assert r.status_code == 200
        return {t["label"]: t["count"] for t in r.json()}

    async def fold() -> bool:
        async with writes() as session:
            folded = await fold_kept_counts(session)
            await session.commit()
        return folded

    try:
        a = await create(api, title="Første", systems=["eDoc", "SD Løn"])
        await create(api, title="Anden", systems=["EDOC"])
        assert await counts() == {"eDoc": 2, "SD Løn": 1}
        await fold()  # (the app's job runner may fold at any moment too: the counts are the same either way)
        assert await fold() is False  # nothing left the second time
        etag = (await api.get(f"{URL}/{a['id']}")).headers["etag"]
        r = await api.patch(
            f"{URL}/{a['id']}", {"systems": ["KMD Nexus"]}, who="editor_253", headers={"If-Match": etag}
        )
        assert r.status_code == 200, r.text
        draft = await create(api, title="Kladde", systems=["KMD Nexus", "eDoc"], visibility="municipality")
        await create(api, title="Tredje", who="editor_376", systems=["KMD Nexus"])
        assert await counts() == {"eDoc": 1, "KMD Nexus": 2}  # the draft is 253's own
        assert await counts("editor_253") == {"eDoc": 2, "KMD Nexus": 3}
        assert await counts("editor_376") == {"eDoc": 1, "KMD Nexus": 2}
        await fold()
        assert await counts("admin") == {"eDoc": 2, "KMD Nexus": 3} == await _links_counted(reads)
        assert (await api.delete(f"{URL}/{draft['id']}")).status_code == 204  # (an admin deletes)
        assert await counts("editor_253") == {"eDoc": 1, "KMD Nexus": 2}
        await fold()
        async with reads() as session:
            kept = {t.label: t.uses for t in (await session.scalars(select(Term).where(Term.kind == "system"))).all()}
            assert await session.scalar(select(func.count()).select_from(TermUseChange)) == 0
        assert {k: n for k, n in kept.items() if n} == await _links_counted(reads) == {"eDoc": 1, "KMD Nexus": 2}
    finally:
        await engine.dispose()


async def test_vocabulary_counts_stay_exact_while_writers_and_folds_run_at_once(api: Api) -> None:
    """Writers of the same terms and two folds at once (real concurrent transactions on PostgreSQL): every link and
    every process is counted once, none waits for another's term row."""
    engine = create_engine(api.client.app.state.settings.effective_database_url)
    reads, writes = session_factories(engine)
    editor = Actor(role="editor", name="redaktør", municipality="253")

    async def write(i: int) -> None:
        async with writes() as session:
            body = process_body(title=f"Samtidig proces {i}", systems=["eDoc", "SD Løn", f"System {i % 3}"])
            await ProcessService(session).create(editor, msgspec.convert(body, ProcessCreate))
            await session.commit()

    async def fold_often() -> None:
        for _ in range(6):
            async with writes() as session:
                await fold_kept_counts(session)
                await session.commit()
            await asyncio.sleep(0.01)

    try:
        for i in range(3):  # the terms made first (two writers making one new term: one of them gets a 409)
            await write(i)
        await asyncio.gather(*(write(i) for i in range(3, 15)), fold_often(), fold_often())
        r = await api.get("/api/vocabularies/system")
        assert {t["label"]: t["count"] for t in r.json()} == await _links_counted(reads)
        assert (await _links_counted(reads))["eDoc"] == 15
        assert (await api.get(URL)).json()["total"] == 15  # the processes' kept count, folded meanwhile too
        async with writes() as session:
            await fold_kept_counts(session)
            await session.commit()
            kept = {t.label: t.uses for t in (await session.scalars(select(Term).where(Term.kind == "system"))).all()}
        assert kept == await _links_counted(reads)
        assert (await api.get(URL)).json()["total"] == 15
    finally:
        await engine.dispose()


async def test_the_list_total_and_the_vocabulary_are_what_each_reader_sees_through_every_change(api: Api) -> None:
    """The list's total (without filters) and the vocabulary counts come from counts the database keeps (migration
    0017): the network's processes and links, each municipality's drafts and their links, as the changes not yet
    folded in and after a fold; a draft published, given to another municipality, deleted."""
    engine = create_engine(api.client.app.state.settings.effective_database_url)
    _, writes = session_factories(engine)

    async def seen(who: str | None) -> tuple[int, int]:
        """(the list's total, the count of the system eDoc) as `who` sees them; the total checked against the
        items listed and against a filtered list, which is counted from the rows."""
        body = (await api.get(f"{URL}?limit=500", who=who)).json()
        assert body["total"] == len(body["items"]) and body["total_approximate"] is False
        filtered = (await api.get(f"{URL}?limit=500&domain=hr_og_loen", who=who)).json()
        assert filtered["total"] == len(filtered["items"]) == body["total"]
        counts = {t["label"]: t["count"] for t in (await api.get("/api/vocabularies/system", who=who)).json()}
        return body["total"], counts.get("eDoc", 0)

    async def everyone() -> dict[str | None, tuple[int, int]]:
        seen_before = {who: await seen(who) for who in (None, "editor_253", "editor_376", "admin")}
        async with writes() as session:
            await fold_kept_counts(session)
            await session.commit()
        assert {who: await seen(who) for who in seen_before} == seen_before  # the same after a fold
        return seen_before

    try:
        await create(api, title="Netværkets første")
        second = await create(api, title="Netværkets anden", who="editor_376")
        draft = await create(api, title="Kladde i 253", visibility="municipality")
        other = await create(api, title="Kladde i 376", who="editor_376", visibility="municipality")
        assert await everyone() == {None: (2, 2), "editor_253": (3, 3), "editor_376": (3, 3), "admin": (4, 4)}
        r = await api.patch(
            f"{URL}/{draft['id']}", {"visibility": "network"}, who="editor_253", headers={"If-Match": '"1"'}
        )
        assert r.status_code == 200, r.text
        assert await everyone() == {None: (3, 3), "editor_253": (3, 3), "editor_376": (4, 4), "admin": (4, 4)}
        r = await api.patch(
            f"{URL}/{other['id']}", {"owner_municipality": "253"}, who="admin", headers={"If-Match": '"1"'}
        )
        assert r.status_code == 200, r.text
        assert await everyone() == {None: (3, 3), "editor_253": (4, 4), "editor_376": (3, 3), "admin": (4, 4)}
        assert (await api.delete(f"{URL}/{other['id']}")).status_code == 204
        assert (await api.delete(f"{URL}/{second['id']}")).status_code == 204
        assert await everyone() == {None: (2, 2), "editor_253": (2, 2), "editor_376": (2, 2), "admin": (2, 2)}
    finally:
        await engine.dispose()


async def test_drafts_are_invisible_to_other_municipalities(api: Api) -> None:
    draft = await create(api, title="Hemmelig kladde", visibility="municipality")
    url = f"{URL}/{draft['id']}"
    assert (await api.get(url, who="editor_253")).status_code == 200
    assert (await api.get(url, who="admin")).status_code == 200
    assert (await api.get(url)).status_code == 404
    assert (await api.get(url, who="editor_376")).status_code == 404
    assert (await api.get(f"{url}/history", who="editor_376")).status_code == 404
    assert (await api.get(f"{url}/adoptions")).status_code == 404
    assert (await api.put(f"{url}/adoptions/376", {"status": "interested"}, who="editor_376")).status_code == 404
    assert (await api.get(URL)).json()["total"] == 0
    assert (await api.get(URL, who="editor_253")).json()["total"] == 1
    r = await api.post(URL, process_body(title="Kopi af kladde", derived_from=draft["id"]), who="editor_376")
    assert r.status_code == 422  # cannot point at what you cannot see


async def test_a_draft_never_takes_the_plain_id_of_its_title(api: Api) -> None:
    """Else a later process of the same title would get `-2`, telling others that a hidden draft exists."""
    draft = await create(api, title="Hemmelig kladde", visibility="municipality")
    assert draft["id"].startswith("hemmelig-kladde-") and draft["id"] != "hemmelig-kladde-2"
    other = await api.post(URL, process_body(title="Hemmelig kladde", owner_municipality="376"), who="editor_376")
    assert other.json()["id"] == "hemmelig-kladde"


async def test_delete_is_for_admins_and_removes_adoptions(api: Api) -> None:
    await create(api)
    await api.put(f"{URL}/{PID}/adoptions/253", {"status": "operation"}, who="editor_253")
    assert (await api.delete(f"{URL}/{PID}", who="editor_253")).status_code == 403
    assert (await api.delete(f"{URL}/{PID}")).status_code == 204
    assert (await api.get(f"{URL}/{PID}")).status_code == 404
    assert (await api.get("/api/municipalities/253/adoptions")).json() == []
    assert (await api.delete(f"{URL}/{PID}")).status_code == 404


async def test_unknown_and_revoked_tokens_are_401(api: Api) -> None:
    api.tokens["bogus"] = "rpab_not-a-token"
    r = await api.post(URL, process_body(), who="bogus")
    assert r.status_code == 401
    r = await api.post(URL, process_body(), who=None, headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


async def test_a_missing_required_field_is_named(api: Api) -> None:
    r = await api.post(URL, {"summary": "Uden titel", "domain": "it"}, who="editor_253")
    assert r.status_code == 422 and r.json()["field"] == "title"
    r = await api.put(f"{URL}/x/adoptions/253", {}, who="editor_253")
    assert r.status_code == 422 and r.json()["field"] == "status"


# Adoptions: /api/processes/{id}/adoptions/{code}

ADOPTIONS = f"/api/processes/{PID}/adoptions"


@pytest.fixture
async def process(api: Api) -> str:
    r = await api.post("/api/processes", process_body(), who="editor_253")
    assert r.status_code == 201
    return PID


async def test_put_creates_then_replaces(api: Api, process: str) -> None:
    body = {
        "status": "implementing",
        "started_on": "2024-01-15",
        "bot": {"repo": "https://git.example/bot", "ref": "v1.0.0"},
        "cases_per_year": 400,
        "notes": "Pilot i HR",
        "contact": {"name": "Ida Holm"},
    }
    r = await api.put(f"{ADOPTIONS}/376", body, who="editor_376")
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["municipality"] == "376" and a["municipality_name"] == "Guldborgsund"
    assert a["status_label"] == "Under implementering"
    assert a["bot"] == {"repo": "https://git.example/bot", "ref": "v1.0.0", "slug": None}  # not a registered bot
    # local cases, the process's minutes and rate: 400 × 3.2 / 60 × 85 / 100
    assert a["expected_hours_per_year"] == pytest.approx(400 * 3.2 / 60 * 0.85)

    r = await api.put(
        f"{ADOPTIONS}/376",
        {"status": "operation", "started_on": "2024-01-15", "live_on": "2024-03-01"},
        who="editor_376",
    )
    assert r.status_code == 200
    a = r.json()
    assert a["status"] == "operation" and a["bot"] is None and a["notes"] is None  # PUT replaces the whole
    p = (await api.get(f"/api/processes/{PID}")).json()
    assert p["adopted_by"] == ["376"] and p["adoption_count"] == 1


async def test_lists_per_process_and_per_municipality(api: Api, process: str) -> None:
    await api.put(f"{ADOPTIONS}/376", {"status": "planned"}, who="editor_376")
    await api.put(f"{ADOPTIONS}/253", {"status": "operation"}, who="editor_253")
    listed = (await api.get(ADOPTIONS)).json()
    assert [a["municipality"] for a in listed] == ["253", "376"]  # Greve, Guldborgsund
    mine = (await api.get("/api/municipalities/376/adoptions")).json()
    assert [a["process"] for a in mine] == [PID]
    one = await api.get(f"{ADOPTIONS}/253")
    assert one.status_code == 200 and one.json()["status"] == "operation"
    assert (await api.get(f"{ADOPTIONS}/259")).status_code == 404
    assert (await api.get("/api/municipalities/999/adoptions")).status_code == 404


async def test_bad_adoptions(api: Api, process: str) -> None:
    r = await api.put(f"{ADOPTIONS}/376", {"status": "live"}, who="editor_376")
    assert r.status_code == 422 and r.json()["field"] == "status"
    r = await api.put(
        f"{ADOPTIONS}/376",
        {"status": "operation", "started_on": "2024-05-01", "live_on": "2024-01-01"},
        who="editor_376",
    )
    assert r.status_code == 422 and r.json()["field"] == "live_on"
    r = await api.put(f"{ADOPTIONS}/376", {"status": "operation", "started_on": "2024-13-01"}, who="editor_376")
    assert r.status_code == 422 and r.json()["field"] == "started_on"
    r = await api.put(f"/api/processes/{PID}/adoptions/999", {"status": "planned"})
    assert r.status_code == 404
    r = await api.put("/api/processes/findes-ikke/adoptions/376", {"status": "planned"}, who="editor_376")
    assert r.status_code == 404
    r = await api.put(f"/api/processes/{PID}/adoptions/12", {"status": "planned"})
    assert r.status_code == 422  # not a 3-digit municipality code
    assert (await api.get(ADOPTIONS)).json() == []


async def test_delete_adoption(api: Api, process: str) -> None:
    await api.put(f"{ADOPTIONS}/376", {"status": "planned"}, who="editor_376")
    assert (await api.delete(f"{ADOPTIONS}/376", who="editor_253")).status_code == 403
    assert (await api.delete(f"{ADOPTIONS}/376", who="editor_376")).status_code == 204
    assert (await api.delete(f"{ADOPTIONS}/376", who="editor_376")).status_code == 404


async def test_links_to_a_draft_do_not_show_its_id(api: Api) -> None:
    draft = await create(api, title="Hemmelig kladde", visibility="municipality")
    public = await create(api, title="Offentlig udgave", derived_from=draft["id"])
    assert public["derived_from"] == draft["id"]  # its owner sees the link
    r = await api.patch(
        f"{URL}/{public['id']}",
        {"status": "duplicate", "duplicate_of": draft["id"]},
        who="editor_253",
        headers={"If-Match": f'"{public["version"]}"'},
    )
    assert r.status_code == 200, r.text
    for who in (None, "editor_376"):
        seen = (await api.get(f"{URL}/{public['id']}", who=who)).json()
        assert (seen["derived_from"], seen["duplicate_of"]) == (None, None), who
        listed = (await api.get(URL, who=who)).json()["items"]
        assert all(draft["id"] not in (p["derived_from"], p["duplicate_of"]) for p in listed)
        history = (await api.get(f"{URL}/{public['id']}/history", who=who)).text
        assert draft["id"] not in history, who
        assert draft["id"] not in (await api.get("/api/export/processes.csv", who=who)).text
        assert draft["id"] not in (await api.client.get(f"/processes/{public['id']}")).text
    own = (await api.get(f"{URL}/{public['id']}/history", who="editor_253")).text
    assert draft["id"] in own


async def test_a_process_never_gets_the_id_of_a_page(api: Api) -> None:
    created = await create(api, title="New")
    assert created["id"] == "new-2"  # /processes/new is the page that describes a new process
