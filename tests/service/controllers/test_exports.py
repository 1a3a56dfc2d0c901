"""CSV and Excel exports read back to the numbers the API gives; the demo's figures are all non-zero."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.cli import main
from service.settings import Settings
from tests.conftest import Api, process_body
from tests.service.controllers.test_benefits import PID, setup_scenario


def workbook(content: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(content))


def rows_of(sheet: Any) -> list[dict[str, Any]]:
    values = list(sheet.iter_rows(values_only=True))
    header = values[0]
    return [dict(zip(header, row, strict=True)) for row in values[1:]]


async def test_processes_csv_has_danish_headers_and_the_list_filters(api: Api) -> None:
    await api.post("/api/processes", process_body(), who="editor_253")
    await api.post(
        "/api/processes",
        process_body(
            "Betaling af tolkeregninger",
            domain="social",
            summary="Robotten betaler tolkenes regninger.",
            description="",
            cases_per_year=None,
        ),
        who="editor_376",
    )
    r = await api.get("/api/export/processes.csv?dialect=plain")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "processer.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["ID"] for row in rows] == ["betaling-af-tolkeregninger", PID]
    attester = rows[1]
    assert attester["Titel"] == "Indhentning af børne- og straffeattester"
    assert attester["Område"] == "HR og løn" and attester["Ejerkommune"] == "Greve"
    assert float(attester["Forventede timer pr. år"]) == pytest.approx(54.4)
    assert attester["Sager pr. år"] == "1200" and attester["Systemer"] == "Politiets attestløsning, eDoc"
    assert dt.datetime.fromisoformat(attester["Oprettet (UTC)"])
    assert rows[0]["Sager pr. år"] == ""

    r = await api.get("/api/export/processes.csv?dialect=plain&domain=social")
    assert [row["ID"] for row in csv.DictReader(io.StringIO(r.text))] == ["betaling-af-tolkeregninger"]
    r = await api.get("/api/export/processes.csv?dialect=plain&q=straffeattest")
    assert [row["ID"] for row in csv.DictReader(io.StringIO(r.text))] == [PID]
    assert (await api.get("/api/export/processes.csv?phase=done")).status_code == 422


async def test_processes_csv_is_for_a_danish_excel_by_default(api: Api) -> None:
    await api.post("/api/processes", process_body(), who="editor_253")
    r = await api.get("/api/export/processes.csv")
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbfID;Titel;")  # UTF-8 byte-order mark, semicolons
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0]["Titel"] == "Indhentning af børne- og straffeattester"
    assert rows[0]["Forventede timer pr. år"] == "54,4"  # decimal comma
    assert rows[0]["Sager pr. år"] == "1200"


async def test_processes_csv_plain_dialect_is_comma_and_point(api: Api) -> None:
    await api.post("/api/processes", process_body(), who="editor_253")
    r = await api.get("/api/export/processes.csv?dialect=plain")
    assert r.status_code == 200
    assert r.content.startswith(b"ID,Titel,")
    assert list(csv.DictReader(io.StringIO(r.text)))[0]["Forventede timer pr. år"] == "54.4"


async def test_processes_csv_unknown_dialect_is_refused(api: Api) -> None:
    r = await api.get("/api/export/processes.csv?dialect=word")
    assert r.status_code == 422
    assert "dialect" in r.text


async def test_processes_xlsx_numbers_as_numbers_and_dates_as_dates(api: Api) -> None:
    await setup_scenario(api)
    await api.put(
        f"/api/processes/{PID}/adoptions/376",
        {
            "status": "operation",
            "started_on": "2023-02-01",
            "live_on": "2023-05-15",
            "cases_per_year": 600,
            "minutes_per_case": 4,
        },
        who="editor_376",
    )
    r = await api.get("/api/export/processes.xlsx?municipality=376")
    assert r.status_code == 200 and "processer.xlsx" in r.headers["content-disposition"]
    wb = workbook(r.content)
    assert wb.sheetnames == ["Processer", "Anvendelser"]
    [p] = rows_of(wb["Processer"])
    assert p["ID"] == PID and p["Sager pr. år"] == 1200 and p["Minutter pr. sag"] == pytest.approx(3.2)
    assert p["Forventede timer pr. år"] == pytest.approx(54.4) and p["Antal kommuner"] == 3
    assert isinstance(p["Oprettet (UTC)"], dt.datetime)
    adoptions = {a["Kommunekode"]: a for a in rows_of(wb["Anvendelser"])}
    assert set(adoptions) == {"253", "259", "376"}
    assert adoptions["376"]["I drift fra"] == dt.datetime(2023, 5, 15)  # an Excel date
    assert adoptions["376"]["Forventede timer pr. år"] == pytest.approx(34)
    assert adoptions["259"]["Status"] == "Interesse"


async def test_benefits_xlsx_reads_back_to_the_api_figures(api: Api) -> None:
    await setup_scenario(api)
    r = await api.get("/api/export/benefits.xlsx")
    assert r.status_code == 200 and "gevinster.xlsx" in r.headers["content-disposition"]
    wb = workbook(r.content)
    assert wb.sheetnames == [
        "I alt",
        "Pr. proces",
        "Pr. kommune",
        "Pr. år",
        "Pr. måned",
        "Pr. område",
        "Registreringer",
    ]
    summary = {row[0]: row[1] for row in wb["I alt"].iter_rows(values_only=True) if row and row[0]}
    totals = (await api.get("/api/benefits")).json()["totals"]
    assert summary["Realiserede timer"] == pytest.approx(totals["realised_hours"]) == pytest.approx(77)
    assert summary["Sparet (kr.)"] == pytest.approx(totals["dkk_saved"])
    assert summary["Netto (kr.)"] == pytest.approx(totals["net_dkk"])
    assert summary["Undgåede udviklingstimer"] == pytest.approx(120)
    assert summary["Timepris, netværkets standard (kr.)"] == 450

    for sheet, group_by, key, column in (
        ("Pr. kommune", "municipality", "municipality", "Kommunekode"),
        ("Pr. år", "year", "year", "År"),
        ("Pr. måned", "month", "month", "Måned"),
        ("Pr. proces", "process", "process", "Proces-ID"),
    ):
        api_rows = (await api.get(f"/api/benefits?group_by={group_by}")).json()["rows"]
        xl_rows = rows_of(wb[sheet])
        assert [x[column] for x in xl_rows] == [a[key] for a in api_rows]
        for x, a in zip(xl_rows, api_rows, strict=True):
            assert x["Realiserede timer"] == pytest.approx(a["realised_hours"])
            assert x["Forventede timer"] == pytest.approx(a["expected_hours"])
            assert x["Sparet (kr.)"] == pytest.approx(a["dkk_saved"])
            assert x["Årsværk"] == pytest.approx(a["fte"])
            assert x["Anvendelser"] == a["adopters"]
            assert x["Undgåede udviklingstimer"] == pytest.approx(a["avoided_build_hours"])

    records = rows_of(wb["Registreringer"])
    assert [(x["Kommunekode"], x["Periode"]) for x in records] == [
        ("253", "2023"),
        ("253", "2024-Q1"),
        ("376", "2024-01"),
        ("376", "2024-02"),
    ]
    first = records[0]
    assert first["Fra"] == dt.datetime(2023, 1, 1) and first["Til"] == dt.datetime(2023, 12, 31)
    assert first["Realiserede timer"] == pytest.approx(50) and first["Sparet (kr.)"] == pytest.approx(25_000)
    assert first["Hjemtaget i budget"] == "Ja" and first["Periodetype"] == "År"
    assert records[1]["Minutter fra"] == "Processen"
    assert {x["Kilde"] for x in records} == {"Indtastet"}

    r = await api.get("/api/export/benefits.xlsx?municipality=376&from=2024-02")
    [only] = rows_of(workbook(r.content)["Registreringer"])
    assert (only["Kommunekode"], only["Periode"], only["Realiserede timer"]) == ("376", "2024-02", 5)
    assert (await api.get("/api/export/benefits.xlsx?from=2024-Q9")).status_code == 422


def test_every_benefit_figure_of_the_demo_is_non_zero(settings: Settings) -> None:
    env = {"RPABANK_DATA_DIR": str(settings.data_dir), "RPABANK_DATABASE_URL": settings.effective_database_url}
    assert main(["demo", "--no-serve"], env) == 0
    with TestClient(create_app(settings)) as client:
        for group_by in ("process", "municipality", "year", "domain"):
            doc = client.get(f"/api/benefits?group_by={group_by}").json()
            assert doc["rows"]
            for key in (
                "expected_hours",
                "realised_hours",
                "dkk_saved",
                "fte",
                "net_dkk",
                "running_cost_dkk",
                "budget_realised_dkk",
                "adopters",
                "avoided_build_hours",
                "records",
            ):
                assert doc["totals"][key] > 0, key
        years = client.get("/api/benefits?group_by=year").json()["rows"]
        assert [r["year"] for r in years] == [2022, 2023, 2024]
        assert all(r["realised_hours"] > 0 and r["expected_hours"] > 0 for r in years)
        municipalities = {m["code"]: m for m in client.get("/api/municipalities").json()}
        assert municipalities["253"]["hourly_cost_dkk"] == 465
        r = client.get("/api/export/benefits.xlsx")
        assert r.status_code == 200 and len(workbook(r.content)["Registreringer"]["A"]) > 30


async def test_workbooks_are_built_off_the_event_loop(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a large workbook is CPU work: it runs in a worker thread, so the server answers others meanwhile."""
    import asyncio

    import catalogue.exports as exports
    import service.controllers.exports as controller

    threads: dict[str, bool] = {}  # name → whether it ran on a thread with a running event loop

    def recorded(name: str, build: Any) -> Any:
        def wrapper(*args: Any) -> Any:
            try:
                asyncio.get_running_loop()
                threads[name] = True
            except RuntimeError:  # a worker thread: no event loop runs here
                threads[name] = False
            return build(*args)

        return wrapper

    monkeypatch.setattr(exports, "write_processes_xlsx", recorded("processes", exports.write_processes_xlsx))
    monkeypatch.setattr(controller, "benefits_xlsx", recorded("benefits", controller.benefits_xlsx))
    for url in ("/api/export/processes.xlsx", "/api/export/benefits.xlsx"):
        assert (await api.get(url)).status_code == 200
    assert threads == {"processes": False, "benefits": False}


async def test_exports_stream_and_hold_their_slot_until_the_last_byte(api: Api) -> None:
    """The CSV is a streamed response with one Content-Type; an export's slot is free again once it is sent,
    and the workbook's temporary file is gone."""
    import tempfile
    from pathlib import Path

    before = set(Path(tempfile.gettempdir()).glob("rpabank-export-*"))
    slots = api.client.app.state.export_slots
    free = slots._value
    async with api.client.stream("GET", "/api/export/processes.csv?dialect=plain") as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        assert "content-length" not in r.headers  # streamed, not built whole first
        body = b"".join([chunk async for chunk in r.aiter_bytes()])
    assert body.startswith(b"ID,Titel,")
    assert slots._value == free
    r = await api.get("/api/export/processes.xlsx")
    assert r.status_code == 200 and workbook(r.content).sheetnames == ["Processer", "Anvendelser"]
    assert slots._value == free
    assert set(Path(tempfile.gettempdir()).glob("rpabank-export-*")) == before


async def test_exports_beyond_the_instances_slots_answer_429(api: Api) -> None:
    slots = api.client.app.state.export_slots
    held = 0
    while not slots.locked():  # every slot busy, as with that many slow exports at once
        await slots.acquire()
        held += 1
    try:
        for url in ("/api/export/processes.csv", "/api/export/processes.xlsx", "/api/export/benefits.xlsx"):
            r = await api.get(url)
            assert r.status_code == 429, url
            assert r.headers["retry-after"] == "10" and "retry" in r.json()["message"]
        assert (await api.get("/api/processes")).status_code == 200  # other requests go on
    finally:
        for _ in range(held):
            slots.release()
    assert (await api.get("/api/export/processes.csv?dialect=plain")).status_code == 200
