"""Benefit records over HTTP, the network's figures (hand-computed), and reuse: copies, similar, duplicates."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, process_body

PID = "indhentning-af-boerne-og-straffeattester"
BENEFITS = f"/api/processes/{PID}/adoptions/{{code}}/benefits"


def url(code: str, period: str | None = None) -> str:
    base = BENEFITS.format(code=code)
    return base if period is None else f"{base}/{period}"


async def setup_scenario(api: Api) -> None:
    """One process of Greve (253): 1200 cases × 3.2 min × 85 % = 54.4 expected hours a year, 120 build hours.

    Greve runs it itself (hourly cost 500); Guldborgsund (376) runs Greve's bot with its own 600 cases of
    4 minutes (600 × 4 / 60 × 85 % = 34 expected hours); Køge (259) is only interested.
    """
    r = await api.post("/api/processes", process_body(), who="editor_253")
    assert r.status_code == 201, r.text
    r = await api.patch("/api/municipalities/253", {"hourly_cost_dkk": 500})
    assert r.status_code == 200 and r.json()["hourly_cost_dkk"] == 500
    bot = {"repo": "https://git.example.dk/robotter/attester", "ref": "v1.0.0"}
    r = await api.put(f"/api/processes/{PID}/adoptions/253", {"status": "operation", "bot": bot}, who="editor_253")
    assert r.status_code == 201, r.text
    r = await api.put(
        f"/api/processes/{PID}/adoptions/376",
        {"status": "operation", "bot": bot, "cases_per_year": 600, "minutes_per_case": 4},
        who="editor_376",
    )
    assert r.status_code == 201, r.text
    r = await api.put(f"/api/processes/{PID}/adoptions/259", {"status": "interested"})
    assert r.status_code == 201, r.text
    writes = [
        (
            "253",
            "2023",
            {"cases_handled": 1000, "minutes_saved_per_case": 3, "running_cost_dkk": 2000, "budget_realised": True},
            "editor_253",
        ),
        ("253", "2024-Q1", {"cases_handled": 300}, "editor_253"),  # minutes from the process: 3.2
        ("376", "2024-01", {"cases_handled": 90}, "editor_376"),  # minutes from the adoption: 4
        ("376", "2024-02", {"cases_handled": 60, "minutes_saved_per_case": 5, "running_cost_dkk": 100}, "editor_376"),
    ]
    for code, period, body, who in writes:
        r = await api.put(url(code, period), body, who=who)
        assert r.status_code == 201, r.text


# ---------------------------------------------------------------- one record


async def test_a_record_shows_its_figures_with_the_defaults_used(api: Api) -> None:
    await setup_scenario(api)
    r = await api.get(url("253", "2023"))
    assert r.status_code == 200
    b = r.json()
    assert b["period"] == "2023" and b["period_kind"] == "year"
    assert (b["period_start"], b["period_end"]) == ("2023-01-01", "2023-12-31")
    assert b["minutes_saved_per_case_from"] == "record"
    assert b["realised_hours"] == pytest.approx(50)  # 1000 × 3 / 60
    assert b["hours_saved"] == b["realised_hours"]
    assert b["hourly_cost_dkk"] == 500
    assert b["dkk_saved"] == pytest.approx(25_000)
    assert b["net_dkk"] == pytest.approx(23_000)
    assert b["fte"] == pytest.approx(50 / 1628)
    assert b["budget_realised"] is True

    b = (await api.get(url("253", "2024-Q1"))).json()
    assert (b["minutes_saved_per_case"], b["minutes_saved_per_case_from"]) == (3.2, "process")
    assert b["realised_hours"] == pytest.approx(16)  # 300 × 3.2 / 60
    assert b["period_end"] == "2024-03-31"
    b = (await api.get(url("376", "2024-01"))).json()
    assert (b["minutes_saved_per_case"], b["minutes_saved_per_case_from"]) == (4, "adoption")
    assert b["realised_hours"] == pytest.approx(6)  # 90 × 4 / 60
    assert b["hourly_cost_dkk"] == 450  # the network default
    assert b["dkk_saved"] == pytest.approx(2700)
    assert b["net_dkk"] == pytest.approx(2700)
    assert b["running_cost_dkk"] is None
    b = (await api.get(url("376", "2024-02"))).json()
    assert b["period_end"] == "2024-02-29"  # a leap year

    listed = (await api.get(url("376"))).json()
    assert [x["period"] for x in listed] == ["2024-01", "2024-02"]


async def test_put_is_idempotent_and_replaces_the_whole_record(api: Api) -> None:
    await setup_scenario(api)
    body = {"cases_handled": 10, "minutes_saved_per_case": 6, "note": "Færre fejl i sagerne."}
    first = await api.put(url("253", "2022-07"), body, who="editor_253")
    assert first.status_code == 201
    again = await api.put(url("253", "2022-07"), body, who="editor_253")
    assert again.status_code == 200
    assert {k: v for k, v in again.json().items() if k != "updated_at"} == {
        k: v for k, v in first.json().items() if k != "updated_at"
    }
    replaced = await api.put(url("253", "2022-07"), {"cases_handled": 20}, who="editor_253")
    assert replaced.status_code == 200
    b = replaced.json()
    assert b["note"] is None and b["minutes_saved_per_case_from"] == "process"  # not merged: replaced
    assert b["realised_hours"] == pytest.approx(20 * 3.2 / 60)
    assert len((await api.get(url("253"))).json()) == 3

    assert (await api.delete(url("253", "2022-07"), who="editor_253")).status_code == 204
    assert (await api.get(url("253", "2022-07"))).status_code == 404
    assert (await api.delete(url("253", "2022-07"), who="editor_253")).status_code == 404


@pytest.mark.parametrize(
    "period",
    [
        "24",
        "2024-Q5",
        "2024-Q0",
        "2024-13",
        "2024-00",
        "2024-5",
        "2024-q2",
        "2024-W12",
        "2024-01-01",
        "abcd",
        "1899",
        "2024-",
    ],
)
async def test_bad_periods_are_422_naming_period(api: Api, period: str) -> None:
    await setup_scenario(api)
    r = await api.put(url("253", period), {"cases_handled": 1}, who="editor_253")
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "period"
    r = await api.get(url("253", period))
    assert r.status_code == 422 and r.json()["field"] == "period"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cases_handled": -1}, "cases_handled"),
        ({"cases_handled": 10**12}, "cases_handled"),
        ({"cases_handled": 1.5}, "cases_handled"),
        ({"cases_handled": 10, "minutes_saved_per_case": -2}, "minutes_saved_per_case"),
        ({"cases_handled": 10, "minutes_saved_per_case": 1e9}, "minutes_saved_per_case"),
        ({"cases_handled": 10, "minutes_saved_per_case": 1.234}, "minutes_saved_per_case"),
        ({"cases_handled": 10, "baseline_minutes": -1}, "baseline_minutes"),
        ({"cases_handled": 10, "minutes_saved_per_case": 8, "baseline_minutes": 5}, "minutes_saved_per_case"),
        ({"cases_handled": 10, "running_cost_dkk": -100}, "running_cost_dkk"),
        ({"cases_handled": 10, "running_cost_dkk": 1e15}, "running_cost_dkk"),
        ({"cases_handled": 10, "budget_realised": "ja"}, "budget_realised"),
        ({"cases_handled": 10, "hours": 4}, "hours"),
    ],
)
async def test_negative_or_absurd_numbers_are_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    await setup_scenario(api)
    r = await api.put(url("253", "2022"), body, who="editor_253")
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert (await api.get(url("253", "2022"))).status_code == 404  # nothing written


async def test_minutes_are_needed_when_neither_adoption_nor_process_has_them(api: Api) -> None:
    r = await api.post("/api/processes", process_body("Uden tal", minutes_per_case=None), who="editor_253")
    pid = r.json()["id"]
    await api.put(f"/api/processes/{pid}/adoptions/253", {"status": "operation"}, who="editor_253")
    r = await api.put(f"/api/processes/{pid}/adoptions/253/benefits/2024", {"cases_handled": 5}, who="editor_253")
    assert r.status_code == 422 and r.json()["field"] == "minutes_saved_per_case"


async def test_benefits_need_an_adoption(api: Api) -> None:
    await setup_scenario(api)
    r = await api.put(f"/api/processes/{PID}/adoptions/999/benefits/2024", {"cases_handled": 1})
    assert r.status_code == 404
    await api.delete(f"/api/processes/{PID}/adoptions/259")
    r = await api.put(url("259", "2024"), {"cases_handled": 1})
    assert r.status_code == 404 and "adoption" in r.json()["message"]
    assert (await api.get(url("259"))).status_code == 404
    assert (await api.get("/api/processes/ukendt/adoptions/253/benefits")).status_code == 404


@pytest.mark.parametrize(
    ("who", "code", "status"),
    [
        ("admin", "253", 201),
        ("editor_253", "253", 201),
        ("editor_376", "253", 403),
        (None, "253", 401),
        ("editor_376", "376", 201),
        ("editor_253", "376", 403),
    ],
)
async def test_who_may_write_benefits(api: Api, who: str | None, code: str, status: int) -> None:
    await setup_scenario(api)
    r = await api.put(url(code, "2021"), {"cases_handled": 1}, who=who)
    assert r.status_code == status, r.text
    if status == 201:
        assert (await api.delete(url(code, "2021"), who=who)).status_code == 204
    else:
        assert (await api.get(url(code, "2021"))).status_code == 404  # a refused write changes nothing
        r = await api.put(url(code, "2023"), {"cases_handled": 1}, who=who)
        assert r.status_code == status
        assert (await api.delete(url(code, "2023"), who=who)).status_code == status
    # everyone may read
    assert (await api.get(url(code))).status_code == 200


async def test_removing_the_adoption_removes_its_benefits(api: Api) -> None:
    await setup_scenario(api)
    assert (await api.delete(f"/api/processes/{PID}/adoptions/376", who="editor_376")).status_code == 204
    await api.put(f"/api/processes/{PID}/adoptions/376", {"status": "operation"}, who="editor_376")
    assert (await api.get(url("376"))).json() == []


# ---------------------------------------------------------------- the network's figures


EXPECTED_2024_376 = 34 * 2 / 12  # two months reported of 34 expected hours a year


async def test_totals_by_process_are_hand_computed(api: Api) -> None:
    await setup_scenario(api)
    r = await api.get("/api/benefits?group_by=process")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["settings"] == {"hourly_cost_dkk": 450, "annual_hours": 1628}
    [row] = doc["rows"]
    assert row["process"] == PID and row["process_title"].startswith("Indhentning")
    assert "municipality" not in row and "year" not in row
    realised = 50 + 16 + 6 + 5
    assert row["realised_hours"] == pytest.approx(realised)
    # expected: Greve all of 2023 (54.4) and Q1 2024 (54.4 × 3/12); Guldborgsund Jan–Feb 2024 (34 × 2/12)
    expected = 54.4 + 54.4 * 3 / 12 + EXPECTED_2024_376
    assert row["expected_hours"] == pytest.approx(expected)
    assert row["realisation_pct"] == pytest.approx(realised / expected * 100)
    assert row["dkk_saved"] == pytest.approx(50 * 500 + 16 * 500 + 6 * 450 + 5 * 450)
    assert row["expected_dkk"] == pytest.approx((54.4 + 13.6) * 500 + EXPECTED_2024_376 * 450)
    assert row["running_cost_dkk"] == pytest.approx(2100)
    assert row["net_dkk"] == pytest.approx(37_950 - 2100)
    assert row["budget_realised_dkk"] == pytest.approx(25_000)
    assert row["fte"] == pytest.approx(realised / 1628)
    assert row["adopters"] == 2  # Greve and Guldborgsund run it; Køge is only interested
    assert row["avoided_build_hours"] == pytest.approx(120)  # Guldborgsund reuses Greve's bot
    assert row["records"] == 4
    totals = doc["totals"]
    for key in ("realised_hours", "expected_hours", "dkk_saved", "net_dkk", "fte", "adopters", "avoided_build_hours"):
        assert totals[key] == pytest.approx(row[key])


async def test_by_year_and_municipality_with_mixed_periods(api: Api) -> None:
    await setup_scenario(api)
    years = (await api.get("/api/benefits?group_by=year")).json()["rows"]
    assert [r["year"] for r in years] == [2023, 2024]
    y2023, y2024 = years
    assert (y2023["realised_hours"], y2023["expected_hours"]) == (pytest.approx(50), pytest.approx(54.4))
    assert (y2023["adopters"], y2023["avoided_build_hours"]) == (1, 0)
    assert y2024["realised_hours"] == pytest.approx(16 + 6 + 5)
    assert y2024["expected_hours"] == pytest.approx(13.6 + EXPECTED_2024_376)
    assert y2024["dkk_saved"] == pytest.approx(8000 + 2700 + 2250)
    assert (y2024["adopters"], y2024["avoided_build_hours"]) == (2, 120)

    rows = (await api.get("/api/benefits?group_by=municipality")).json()["rows"]
    assert [(r["municipality"], r["municipality_name"]) for r in rows] == [("253", "Greve"), ("376", "Guldborgsund")]
    greve, guldborgsund = rows
    assert greve["realised_hours"] == pytest.approx(66)
    assert greve["net_dkk"] == pytest.approx(33_000 - 2000)
    assert greve["expected_hours"] == pytest.approx(54.4 + 13.6)
    assert greve["avoided_build_hours"] == 0  # the owner built it
    assert guldborgsund["realised_hours"] == pytest.approx(11)
    assert guldborgsund["net_dkk"] == pytest.approx(4950 - 100)
    assert guldborgsund["avoided_build_hours"] == pytest.approx(120)

    [domain] = (await api.get("/api/benefits?group_by=domain")).json()["rows"]
    assert (domain["domain"], domain["domain_label"]) == ("hr_og_loen", "HR og løn")
    assert domain["realised_hours"] == pytest.approx(77)


async def test_filters_select_whole_periods(api: Api) -> None:
    await setup_scenario(api)
    doc = (await api.get("/api/benefits?group_by=year&from=2024&to=2024")).json()
    assert doc["from"] == "2024" and [r["year"] for r in doc["rows"]] == [2024]
    assert doc["totals"]["realised_hours"] == pytest.approx(27)
    # Feb–Mar 2024 holds only the February record: Q1 is not wholly inside
    doc = (await api.get("/api/benefits?from=2024-02&to=2024-03")).json()
    assert doc["totals"]["realised_hours"] == pytest.approx(5)
    doc = (await api.get("/api/benefits?group_by=process&municipality=376")).json()
    assert doc["totals"]["realised_hours"] == pytest.approx(11) and doc["totals"]["adopters"] == 1
    doc = (await api.get(f"/api/benefits?process={PID}&to=2023-Q4")).json()
    assert doc["totals"]["realised_hours"] == pytest.approx(50)
    doc = (await api.get("/api/benefits?domain=kultur")).json()
    assert doc["rows"] == [] and doc["totals"]["realised_hours"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=kommune", "group_by"),
        ("from=2024-Q7", "from"),
        ("to=januar", "to"),
        ("from=2024&to=2023", "to"),
        ("municipality=12", "municipality"),
    ],
)
async def test_bad_aggregate_queries_are_422(api: Api, query: str, field: str) -> None:
    r = await api.get(f"/api/benefits?{query}")
    assert r.status_code == 422, r.text
    assert r.json().get("field") == field or field in r.json()["message"]


async def test_drafts_stay_out_of_other_municipalities_figures(api: Api) -> None:
    r = await api.post("/api/processes", process_body("Hemmelig kladde", visibility="municipality"), who="editor_253")
    pid = r.json()["id"]
    await api.put(f"/api/processes/{pid}/adoptions/253", {"status": "operation"}, who="editor_253")
    assert (
        await api.put(f"/api/processes/{pid}/adoptions/253/benefits/2024", {"cases_handled": 60}, who="editor_253")
    ).status_code == 201
    assert (await api.get("/api/benefits")).json()["totals"]["records"] == 0
    assert (await api.get("/api/benefits", who="editor_376")).json()["totals"]["records"] == 0
    assert (await api.get("/api/benefits", who="editor_253")).json()["totals"]["records"] == 1
    assert (await api.get(f"/api/processes/{pid}/adoptions/253/benefits")).status_code == 404


async def test_the_network_default_hourly_cost_comes_from_the_settings(api: Api) -> None:
    settings = api.client.app.state.settings
    assert settings.hourly_cost_dkk == 450 and settings.annual_hours == 1628
    from decimal import Decimal

    from service.settings import Settings

    s = Settings.from_env({"RPABANK_HOURLY_COST_DKK": "512.5", "RPABANK_ANNUAL_HOURS": "1600"})
    assert (s.hourly_cost_dkk, s.annual_hours) == (Decimal("512.5"), Decimal("1600"))
    for bad in ("-1", "nul", "0"):
        with pytest.raises(ValueError, match="RPABANK_HOURLY_COST_DKK"):
            Settings.from_env({"RPABANK_HOURLY_COST_DKK": bad})


async def test_hourly_cost_is_an_admin_setting_of_the_municipality(api: Api) -> None:
    assert (await api.patch("/api/municipalities/253", {"hourly_cost_dkk": 480}, who="editor_253")).status_code == 403
    r = await api.patch("/api/municipalities/253", {"hourly_cost_dkk": -5})
    assert r.status_code == 422 and r.json()["field"] == "hourly_cost_dkk"
    assert (await api.patch("/api/municipalities/253", {"hourly_cost_dkk": 480.5})).json()["hourly_cost_dkk"] == 480.5
    assert (await api.patch("/api/municipalities/253", {"hourly_cost_dkk": None})).json()["hourly_cost_dkk"] is None


# ---------------------------------------------------------------- reuse


async def test_copy_creates_a_derived_process_with_an_interested_adoption(api: Api) -> None:
    r = await api.post("/api/processes", process_body(), who="editor_253")
    assert r.status_code == 201
    r = await api.post(f"/api/processes/{PID}/copy", who="editor_376")
    assert r.status_code == 201, r.text
    copy = r.json()
    assert copy["id"] == PID + "-2" and r.headers["etag"] == '"1"'
    assert copy["owner_municipality"] == "376" and copy["derived_from"] == PID
    assert copy["adopted_by"] == ["376"] and copy["systems"] == ["Politiets attestløsning", "eDoc"]
    assert copy["contact"] is None and copy["cases_per_year"] == 1200
    adoption = (await api.get(f"/api/processes/{copy['id']}/adoptions/376")).json()
    assert adoption["status"] == "interested"
    original = (await api.get(f"/api/processes/{PID}")).json()
    assert original["derived"] == [copy["id"]] and original["derived_from"] is None
    assert (await api.get(f"/api/processes/{copy['id']}")).json()["derived"] == []

    r = await api.post(
        f"/api/processes/{PID}/copy", {"title": "Straffeattester i Køge", "phase": "idea"}, who="editor_376"
    )
    assert r.status_code == 201 and r.json()["title"] == "Straffeattester i Køge" and r.json()["phase"] == "idea"
    assert len((await api.get(f"/api/processes/{PID}")).json()["derived"]) == 2


async def test_copy_rights(api: Api) -> None:
    await api.post("/api/processes", process_body(), who="editor_253")
    assert (await api.post(f"/api/processes/{PID}/copy", who=None)).status_code == 401
    assert (
        await api.post(f"/api/processes/{PID}/copy", {"owner_municipality": "253"}, who="editor_376")
    ).status_code == 403
    r = await api.post(f"/api/processes/{PID}/copy")
    assert r.status_code == 422 and r.json()["field"] == "owner_municipality"  # an admin names the owner
    r = await api.post(f"/api/processes/{PID}/copy", {"owner_municipality": "259"})
    assert r.status_code == 201 and r.json()["owner_municipality"] == "259"
    assert (await api.post("/api/processes/ukendt/copy", who="editor_376")).status_code == 404
    assert (await api.post(f"/api/processes/{PID}/copy", {"colour": "red"}, who="editor_376")).status_code == 422


async def test_similar_is_not_taken_for_a_process_id(api: Api) -> None:
    await api.post("/api/processes", process_body(), who="editor_253")
    await api.post(
        "/api/processes",
        process_body("Betaling af tolkeregninger", summary="Robotten betaler regninger for tolkebistand."),
        who="editor_376",
    )
    r = await api.get(
        "/api/processes/similar",
        params={"title": "Indhentning af straffeattester", "summary": "Vi henter straffeattester hos politiet"},
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["id"] for i in items] == [PID]
    assert 0 < items[0]["score"] <= 1
    r = await api.get("/api/processes/similar", params={"title": "Tolkeregninger betales"})
    assert [i["id"] for i in r.json()["items"]] == ["betaling-af-tolkeregninger"]
    r = await api.get("/api/processes/similar", params={"title": "Snerydning af cykelstier"})
    assert r.json()["items"] == []
    assert (await api.get("/api/processes/similar")).json()["items"] == []


async def test_create_answers_with_possible_duplicates(api: Api) -> None:
    r = await api.post("/api/processes", process_body(), who="editor_253")
    assert r.json()["possible_duplicates"] == []
    r = await api.post("/api/processes", process_body("Indhentning af straffeattester til nyansatte"), who="editor_376")
    assert r.status_code == 201
    created = r.json()
    dupes = created["possible_duplicates"]
    assert [d["id"] for d in dupes] == [PID]  # never the new process itself
    assert set(dupes[0]) == {"id", "title", "summary", "owner_municipality", "score"}
    assert created["id"] not in [d["id"] for d in dupes]
    r = await api.post(
        "/api/processes",
        process_body("Snerydning af cykelstier", summary="Robotten planlægger snerydning.", tags=[], systems=[]),
        who="editor_376",
    )
    assert r.json()["possible_duplicates"] == []
