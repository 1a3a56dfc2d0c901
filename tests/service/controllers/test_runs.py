"""Runs over HTTP: the push endpoint (idempotency, rights, Danish months across midnight and DST, outcomes),
saving rules, manual-versus-runs conflicts, run file imports, missing figures and the monthly roll-up."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.catalogue import test_runfiles
from tests.conftest import Api, process_body

PID = "indhentning-af-boerne-og-straffeattester"
ADOPTION = f"/api/processes/{PID}/adoptions/{{code}}"


def runs_url(code: str = "253") -> str:
    return ADOPTION.format(code=code) + "/runs"


def run(rid: str, ended_at: str, outcome: str = "success", units: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": rid, "ended_at": ended_at, "outcome": outcome}
    if units is not None:
        body["units"] = units
    return body


async def setup_adoption(api: Api, code: str = "253", who: str = "editor_253", **adoption: Any) -> None:
    """Greve's process (3.2 minutes per case), adopted in operation by `code`."""
    if (await api.get(f"/api/processes/{PID}")).status_code == 404:
        r = await api.post("/api/processes", process_body(), who="editor_253")
        assert r.status_code == 201, r.text
    body = {"status": "operation", "live_on": "2024-01-15", **adoption}
    r = await api.put(ADOPTION.format(code=code), body, who=who)
    assert r.status_code == 201, r.text


async def record(api: Api, period: str, code: str = "253") -> dict[str, Any]:
    r = await api.get(ADOPTION.format(code=code) + f"/benefits/{period}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# ---------------------------------------------------------------- push


async def test_pushed_runs_become_the_months_benefit_record(api: Api) -> None:
    await setup_adoption(api)
    runs = [
        run("a1", "2024-05-03T10:15:00+02:00"),
        run("a2", "2024-05-03T11:15:00+02:00", units=4),
        run("a3", "2024-05-04T09:00:00+02:00", "failure"),
        run("a4", "2024-05-05T09:00:00+02:00", "business_exception", units=2),
    ]
    r = await api.post(runs_url(), {"runs": runs}, who="editor_253")
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 4, "duplicates": 0, "periods": ["2024-05"]}
    b = await record(api, "2024-05")
    assert b["source"] == "runs"
    assert b["cases_handled"] == 5  # successful units only: 1 + 4
    assert b["minutes_saved_per_case"] == 3.2 and b["minutes_saved_per_case_from"] == "process"
    assert b["realised_hours"] == pytest.approx(5 * 3.2 / 60)
    month = (await api.get(runs_url())).json()["months"][0]
    assert (month["success_runs"], month["failure_runs"], month["business_exception_runs"]) == (2, 1, 1)
    assert (month["success_units"], month["failure_units"], month["business_exception_units"]) == (5, 1, 2)
    assert month["success_rate"] == pytest.approx(50)


async def test_sending_the_same_runs_again_accepts_nothing_new(api: Api) -> None:
    await setup_adoption(api)
    runs = [run("r1", "2024-05-03T10:15:00+02:00"), run("r2", "2024-05-03T11:15:00+02:00")]
    r = await api.post(runs_url(), {"runs": runs}, who="editor_253")
    assert r.json() == {"accepted": 2, "duplicates": 0, "periods": ["2024-05"]}
    r = await api.post(runs_url(), {"runs": [*runs, run("r3", "2024-05-09T08:00:00+02:00")]}, who="editor_253")
    assert r.status_code == 200
    assert r.json() == {"accepted": 1, "duplicates": 2, "periods": ["2024-05"]}
    r = await api.post(runs_url(), {"runs": runs}, who="editor_253")
    assert r.json() == {"accepted": 0, "duplicates": 2, "periods": []}
    assert (await record(api, "2024-05"))["cases_handled"] == 3


async def test_one_id_twice_in_one_request_counts_once(api: Api) -> None:
    await setup_adoption(api)
    same = run("dup", "2024-05-03T10:15:00+02:00")
    r = await api.post(runs_url(), {"runs": [same, same]}, who="editor_253")
    assert r.json() == {"accepted": 1, "duplicates": 1, "periods": ["2024-05"]}


@pytest.mark.parametrize(
    ("ended_at", "month"),
    [
        ("2024-05-31T22:30:00Z", "2024-06"),  # 00:30 Danish summer time on 1 June
        ("2024-05-31T21:59:59Z", "2024-05"),  # 23:59:59 on 31 May
        ("2024-12-31T23:30:00Z", "2025-01"),  # 00:30 on New Year's Day (winter time, UTC+1)
        ("2024-03-31T00:30:00+01:00", "2024-03"),  # the night summer time begins
        ("2024-10-31T23:30:00+00:00", "2024-11"),  # after winter time began on 27 October: 00:30 on 1 Nov
        ("2024-10-27T02:30:00+01:00", "2024-10"),  # the repeated hour when summer time ends
        ("2024-04-30T22:00:00Z", "2024-05"),  # exactly midnight Danish time
        ("2024-02-29T23:00:00Z", "2024-03"),  # midnight after a leap day, winter time
    ],
)
async def test_months_are_danish_calendar_months(api: Api, ended_at: str, month: str) -> None:
    await setup_adoption(api)
    r = await api.post(runs_url(), {"runs": [run("x", ended_at)]}, who="editor_253")
    assert r.status_code == 200, r.text
    assert r.json()["periods"] == [month]


async def test_a_time_without_zone_is_refused(api: Api) -> None:
    await setup_adoption(api)
    r = await api.post(runs_url(), {"runs": [run("x", "2024-05-03T10:15:00")]}, who="editor_253")
    assert r.status_code == 422
    assert r.json()["field"] == "runs[0].ended_at"
    assert (await api.get(runs_url())).json()["months"] == []


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "x", "ended_at": "2024-05-03T10:15:00+02:00", "outcome": "done"},
        {"id": "x", "ended_at": "2024-05-03T10:15:00+02:00", "outcome": "success", "units": 0},
        {"id": "", "ended_at": "2024-05-03T10:15:00+02:00", "outcome": "success"},
        {"id": "x", "ended_at": "i går", "outcome": "success"},
        {"id": "x", "ended_at": "2024-05-03T10:15:00+02:00", "outcome": "success", "robot": "r2"},
    ],
)
async def test_bad_runs_are_422_and_nothing_is_counted(api: Api, bad: dict[str, Any]) -> None:
    await setup_adoption(api)
    r = await api.post(runs_url(), {"runs": [run("ok", "2024-05-03T10:15:00+02:00"), bad]}, who="editor_253")
    assert r.status_code == 422, r.text
    assert r.json()["message"]
    assert (await api.get(runs_url())).json()["months"] == []


@pytest.mark.parametrize(("who", "status"), [("editor_376", 403), ("reader", 403), (None, 401), ("admin", 200)])
async def test_only_the_municipalitys_editors_tokens_and_admins_report(api: Api, who: str | None, status: int) -> None:
    await setup_adoption(api)
    await api.token("reader", "reader", "253")
    r = await api.post(runs_url(), {"runs": [run("x", "2024-05-03T10:15:00+02:00")]}, who=who)
    assert r.status_code == status


async def test_a_personal_token_of_an_editor_reports(api: Api) -> None:
    await setup_adoption(api)
    await api.person("robot_greve", "editor", "253")
    r = await api.post(runs_url(), {"runs": [run("x", "2024-05-03T10:15:00+02:00")]}, who="robot_greve")
    assert r.status_code == 200
    assert (await record(api, "2024-05"))["recorded_by"] == "Robot Greve"


async def test_runs_need_an_adoption(api: Api) -> None:
    await setup_adoption(api)
    r = await api.post(runs_url("376"), {"runs": [run("x", "2024-05-03T10:15:00+02:00")]}, who="editor_376")
    assert r.status_code == 404


# ---------------------------------------------------------------- the saving rule


async def test_the_rules_minutes_per_unit_count_and_follow_changes(api: Api) -> None:
    await setup_adoption(api, minutes_per_case=4)
    await api.post(runs_url(), {"runs": [run("x", "2024-05-03T10:15:00+02:00", units=30)]}, who="editor_253")
    assert (await record(api, "2024-05"))["minutes_saved_per_case_from"] == "adoption"
    r = await api.put(runs_url() + "/rule", {"unit": "item", "minutes_per_unit": 6, "run_keys": ["Attester"]})
    assert r.status_code == 200, r.text
    rule = r.json()["rule"]
    assert (rule["unit"], rule["minutes_per_unit"], rule["minutes_from"], rule["run_keys"]) == (
        "item",
        6,
        "rule",
        ["Attester"],
    )
    b = await record(api, "2024-05")
    assert b["minutes_saved_per_case"] == 6 and b["realised_hours"] == pytest.approx(3)  # 30 × 6 / 60
    assert r.json()["months"][0]["runs_hours"] == pytest.approx(3)


async def test_a_run_key_names_one_adoption_of_a_municipality(api: Api) -> None:
    await setup_adoption(api)
    r = await api.post("/api/processes", process_body("Betaling af tolkeregninger"), who="editor_253")
    other = r.json()["id"]
    r = await api.put(f"/api/processes/{other}/adoptions/253", {"status": "operation"}, who="editor_253")
    assert r.status_code == 201
    r = await api.put(runs_url() + "/rule", {"run_keys": ["Attester-flow"]}, who="editor_253")
    assert r.status_code == 200
    r = await api.put(
        f"/api/processes/{other}/adoptions/253/runs/rule", {"run_keys": ["attester-FLOW"]}, who="editor_253"
    )
    assert r.status_code == 409
    assert r.json()["field"] == "run_keys"


@pytest.mark.parametrize(("who", "status"), [("editor_376", 403), (None, 401), ("editor_253", 200)])
async def test_rule_rights(api: Api, who: str | None, status: int) -> None:
    await setup_adoption(api)
    r = await api.put(runs_url() + "/rule", {"run_keys": ["Attester"]}, who=who)
    assert r.status_code == status


# ---------------------------------------------------------------- manual versus runs


async def test_a_month_typed_by_hand_is_not_overwritten_and_the_conflict_is_shown(api: Api) -> None:
    await setup_adoption(api)
    r = await api.put(ADOPTION.format(code="253") + "/benefits/2024-05", {"cases_handled": 100}, who="editor_253")
    assert r.status_code == 201
    runs = [run(f"r{i}", "2024-05-10T10:00:00+02:00") for i in range(30)]
    r = await api.post(runs_url(), {"runs": runs}, who="editor_253")
    assert r.json()["accepted"] == 30
    b = await record(api, "2024-05")
    assert (b["source"], b["cases_handled"]) == ("manual", 100)
    month = (await api.get(runs_url())).json()["months"][0]
    assert month["conflict"] is True and month["record_source"] == "manual"
    assert month["manual"]["cases_handled"] == 100
    assert month["manual"]["realised_hours"] == pytest.approx(100 * 3.2 / 60)
    assert month["success_units"] == 30 and month["runs_hours"] == pytest.approx(30 * 3.2 / 60)

    # the user chooses the runs: the record becomes theirs, and later runs keep it up to date
    r = await api.put(runs_url() + "/months/2024-05/choice", {"use": "runs"}, who="editor_253")
    assert r.status_code == 200, r.text
    assert r.json()["months"][0]["conflict"] is False
    b = await record(api, "2024-05")
    assert (b["source"], b["cases_handled"]) == ("runs", 30)
    await api.post(runs_url(), {"runs": [run("late", "2024-05-30T10:00:00+02:00")]}, who="editor_253")
    assert (await record(api, "2024-05"))["cases_handled"] == 31


async def test_choosing_the_manual_figures_ends_the_conflict_and_keeps_them(api: Api) -> None:
    await setup_adoption(api)
    await api.put(ADOPTION.format(code="253") + "/benefits/2024-05", {"cases_handled": 100}, who="editor_253")
    await api.post(runs_url(), {"runs": [run("r", "2024-05-10T10:00:00+02:00")]}, who="editor_253")
    r = await api.put(runs_url() + "/months/2024-05/choice", {"use": "manual"}, who="editor_253")
    assert r.status_code == 200
    month = r.json()["months"][0]
    assert (month["conflict"], month["choice"]) == (False, "manual")
    await api.post(runs_url(), {"runs": [run("r2", "2024-05-11T10:00:00+02:00")]}, who="editor_253")
    assert (await record(api, "2024-05"))["cases_handled"] == 100


async def test_a_quarter_typed_by_hand_covers_its_months(api: Api) -> None:
    await setup_adoption(api)
    await api.put(ADOPTION.format(code="253") + "/benefits/2024-Q2", {"cases_handled": 900}, who="editor_253")
    await api.post(runs_url(), {"runs": [run("r", "2024-05-10T10:00:00+02:00")]}, who="editor_253")
    r = await api.get(ADOPTION.format(code="253") + "/benefits/2024-05")
    assert r.status_code == 404  # no month record beside the quarter: the roll-up would count twice
    month = (await api.get(runs_url())).json()["months"][0]
    assert month["conflict"] is True and month["manual"]["period"] == "2024-Q2"
    r = await api.put(runs_url() + "/months/2024-05/choice", {"use": "runs"}, who="editor_253")
    assert r.status_code == 409


async def test_choice_of_a_month_without_runs_is_404(api: Api) -> None:
    await setup_adoption(api)
    r = await api.put(runs_url() + "/months/2024-05/choice", {"use": "runs"}, who="editor_253")
    assert r.status_code == 404


async def test_choice_rights(api: Api) -> None:
    await setup_adoption(api)
    await api.post(runs_url(), {"runs": [run("r", "2024-05-10T10:00:00+02:00")]}, who="editor_253")
    r = await api.put(runs_url() + "/months/2024-05/choice", {"use": "runs"}, who="editor_376")
    assert r.status_code == 403


# ---------------------------------------------------------------- imports


async def post_file(api: Api, body: bytes, who: str | None = "editor_253", **params: str) -> Any:
    return await api.client.post("/api/runs/import", content=body, headers=api.auth(who), params=params)


GENERIC_CSV = (
    b"id;ended_at;outcome;units;key\n"
    b"g1;2024-05-03T10:15:00+02:00;success;2;Attester\n"
    b"g2;2024-05-31T23:30:00+02:00;success;1;Attester\n"
    b"g3;2024-06-01T00:30:00+02:00;failure;1;attester\n"
    b"g4;2024-06-02T08:00:00+02:00;business_exception;;Attester\n"
    b"g5;2024-06-02T08:00:00+02:00;success;1;Tolke\n"
)


async def test_a_dry_run_previews_and_writes_nothing_then_the_import_writes(api: Api) -> None:
    await setup_adoption(api)
    await api.put(runs_url() + "/rule", {"run_keys": ["Attester"]}, who="editor_253")
    r = await post_file(api, GENERIC_CSV, dry_run="1")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["format"] == "generic" and report["dry_run"] is True and report["written"] is False
    assert report["summary"] == {"accept": 4, "duplicate": 0, "ignore": 1, "error": 0}
    assert report["rows"] == [
        {
            "row": 6,
            "action": "ignore",
            "id": "g5",
            "errors": [
                {
                    "column": None,
                    "field": "key",
                    "message": "key: Tolke is the run key of none of the municipality's adoptions: ignored",
                }
            ],
        }
    ]
    assert report["periods"] == ["2024-05", "2024-06"]
    assert (await api.get(runs_url())).json()["months"] == []

    r = await post_file(api, GENERIC_CSV)
    assert r.status_code == 200
    assert r.json()["written"] is True
    assert r.json()["adoptions"] == [
        {"process": PID, "municipality": "253", "accepted": 4, "duplicates": 0, "periods": ["2024-05", "2024-06"]}
    ]
    assert (await record(api, "2024-05"))["cases_handled"] == 3
    assert (await record(api, "2024-06"))["cases_handled"] == 0
    r = await post_file(api, GENERIC_CSV)
    assert r.json()["summary"] == {"accept": 0, "duplicate": 4, "ignore": 1, "error": 0}


async def test_an_import_with_an_error_writes_nothing(api: Api) -> None:
    await setup_adoption(api)
    await api.put(runs_url() + "/rule", {"run_keys": ["Attester"]}, who="editor_253")
    body = GENERIC_CSV + b"g6;2024-13-01 10:00;success;1;Attester\n"
    r = await post_file(api, body)
    assert r.status_code == 422
    report = r.json()
    assert report["written"] is False and report["summary"]["error"] == 1
    bad = report["rows"][-1]
    assert (bad["row"], bad["action"], bad["errors"][0]["column"]) == (7, "error", "endedat")
    assert (await api.get(runs_url())).json()["months"] == []


async def test_an_unknown_file_is_422_naming_its_columns(api: Api) -> None:
    await setup_adoption(api)
    r = await post_file(api, b"navn;dato\nx;y\n")
    assert r.status_code == 422
    assert "Columns found: dato, navn" in r.json()["message"]


@pytest.mark.parametrize(("who", "params", "status"), [("editor_376", {"municipality": "253"}, 403), (None, {}, 401)])
async def test_import_rights(api: Api, who: str | None, params: dict[str, str], status: int) -> None:
    await setup_adoption(api)
    r = await post_file(api, GENERIC_CSV, who=who, **params)
    assert r.status_code == status


async def test_an_admin_names_the_municipality(api: Api) -> None:
    await setup_adoption(api)
    r = await post_file(api, GENERIC_CSV, who="admin")
    assert r.status_code == 422 and r.json()["field"] == "municipality"
    r = await post_file(api, GENERIC_CSV, who="admin", municipality="253", dry_run="1")
    assert r.status_code == 200


async def test_a_file_of_the_wrong_unit_is_refused_per_row(api: Api) -> None:
    await setup_adoption(api)
    await api.put(runs_url() + "/rule", {"unit": "item", "run_keys": ["Attester-flow"]}, who="editor_253")
    flowruns = (
        b"flowrunid,name,status,starttime,endtime,workflowname\n"
        b"f1,08584,Succeeded,2024-05-03T08:00:00Z,2024-05-03T08:01:00Z,Attester-flow\n"
    )
    r = await post_file(api, flowruns)
    assert r.status_code == 422
    assert "counts queue items; this file holds runs" in r.json()["rows"][0]["errors"][0]["message"]


# ---------------------------------------------------------------- missing figures and the roll-up


async def test_missing_figures_list_completed_months_without_a_record(api: Api) -> None:
    await setup_adoption(api, live_on="2024-01-15")
    await api.put(ADOPTION.format(code="253") + "/benefits/2024-Q1", {"cases_handled": 1}, who="editor_253")
    await api.post(runs_url(), {"runs": [run("r", "2024-05-10T10:00:00+02:00")]}, who="editor_253")
    r = await api.get("/api/benefits/missing?municipality=253")
    assert r.status_code == 200
    rows = r.json()
    assert len(rows) == 1 and rows[0]["process"] == PID and rows[0]["municipality"] == "253"
    assert rows[0]["missing"][:3] == ["2024-04", "2024-06", "2024-07"]
    assert "2024-05" not in rows[0]["missing"]
    assert (await api.get("/api/benefits/missing?municipality=376")).json() == []
    assert (await api.get("/api/benefits/missing?municipality=25")).status_code == 422


async def test_the_monthly_roll_up_by_hand(api: Api) -> None:
    """Greve (hourly cost 500) runs the process, 3.2 min/case, 1200 cases × 85 % → 54.4 expected hours a year;
    Guldborgsund runs it with 4 minutes and 600 cases × 85 % → 34 hours a year (network cost 450).

    - 2024-05: Greve 30 successful runs → 30 × 3.2 / 60 = 1.6 h; Guldborgsund 45 cases by hand → 3 h.
    - 2024-Q2 by hand at Greve? No: June from runs, 60 items → 3.2 h.
    Expected per month: Greve 54.4 / 12, Guldborgsund 34 / 12.
    """
    await setup_adoption(api)
    await api.patch("/api/municipalities/253", {"hourly_cost_dkk": 500})
    await setup_adoption(api, code="376", who="editor_376", minutes_per_case=4, cases_per_year=600)
    may = [run(f"m{i}", "2024-05-10T10:00:00+02:00") for i in range(30)]
    june = [run("j1", "2024-06-10T10:00:00+02:00", units=60), run("j2", "2024-06-11T10:00:00+02:00", "failure")]
    await api.post(runs_url(), {"runs": may + june}, who="editor_253")
    await api.put(ADOPTION.format(code="376") + "/benefits/2024-05", {"cases_handled": 45}, who="editor_376")
    r = await api.get("/api/benefits?group_by=month&from=2024-05&to=2024-06")
    assert r.status_code == 200, r.text
    body = r.json()
    may_row, june_row = body["rows"]
    assert (may_row["month"], june_row["month"]) == ("2024-05", "2024-06")
    assert may_row["realised_hours"] == pytest.approx(1.6 + 3)
    assert may_row["realised_hours_runs"] == pytest.approx(1.6)
    assert may_row["dkk_saved"] == pytest.approx(1.6 * 500 + 3 * 450)
    assert may_row["expected_hours"] == pytest.approx(54.4 / 12 + 34 / 12)
    assert may_row["realisation_pct"] == pytest.approx(4.6 / (88.4 / 12) * 100)
    assert june_row["realised_hours"] == pytest.approx(3.2)
    assert june_row["expected_hours"] == pytest.approx(54.4 / 12)
    assert body["totals"]["realised_hours"] == pytest.approx(7.8)
    assert body["totals"]["realised_hours_runs"] == pytest.approx(4.8)


async def test_by_month_a_quarter_is_spread_over_its_months(api: Api) -> None:
    await setup_adoption(api)
    await api.put(ADOPTION.format(code="253") + "/benefits/2024-Q2", {"cases_handled": 300}, who="editor_253")
    body = (await api.get("/api/benefits?group_by=month")).json()
    assert [row["month"] for row in body["rows"]] == ["2024-04", "2024-05", "2024-06"]
    for row in body["rows"]:
        assert row["realised_hours"] == pytest.approx(300 * 3.2 / 60 / 3)
        assert row["expected_hours"] == pytest.approx(54.4 / 12)
    assert body["totals"]["realised_hours"] == pytest.approx(16) and body["totals"]["records"] == 1


@pytest.mark.parametrize(
    ("fixture", "unit", "keys", "default_key", "summary"),
    [
        ("FLOWRUNS_JSON", "run", ["Sygedagpenge - opfølgning"], None, (2, 1)),
        ("FLOWRUNS_CSV", "run", ["tolkeregninger"], None, (2, 0)),
        ("QUEUE_ITEMS_JSON", "item", ["615"], None, (3, 1)),
        ("JOBS_JSON", "run", ["Indhentning_Straffeattester_Prod"], None, (2, 1)),
        ("QUEUE_ITEMS_CSV", "item", ["Straffeattester"], "Straffeattester", (2, 1)),
        ("JOBS_CSV", "run", ["Tolkeregninger"], None, (2, 0)),
        ("OPENORCHESTRATOR_CSV", "item", ["Aktindsigt"], None, (2, 1)),
    ],
)
async def test_each_orchestrator_file_imports_over_http(
    api: Api, fixture: str, unit: str, keys: list[str], default_key: str | None, summary: tuple[int, int]
) -> None:
    data = getattr(test_runfiles, fixture)
    body = (json.dumps(data) if not isinstance(data, str) else data).encode()
    await setup_adoption(api)
    r = await api.put(runs_url() + "/rule", {"unit": unit, "run_keys": keys}, who="editor_253")
    assert r.status_code == 200
    params = {"key": default_key} if default_key else {}
    r = await post_file(api, body, **params)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["summary"]["accept"], report["summary"]["ignore"]) == summary
    assert report["written"] is True and report["summary"]["error"] == 0
    r = await post_file(api, body, **params)
    assert r.json()["summary"]["duplicate"] == summary[0]
