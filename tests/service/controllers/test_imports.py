"""POST /api/imports: spreadsheets in each format, the preview, all or nothing, rights and bad input."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from tests.conftest import Api, process_body
from tests.service.controllers.test_benefits import PID, setup_scenario

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx(rows: list[list[Any]], title: str = "Ark1") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def upload(
    api: Api, content: bytes, kind: str = "processes", *, dry_run: bool = False, who: str = "admin", **params: str
) -> Any:
    query = {"kind": kind, **({"dry_run": "1"} if dry_run else {}), **params}
    name = "ark.xlsx" if content.startswith(b"PK") else "ark.csv"
    return await api.client.post(
        "/api/imports",
        params=query,
        files={"file": (name, content, XLSX)},
        headers=api.auth(who),
    )


def actions(report: dict[str, Any]) -> list[str]:
    return [r["action"] for r in report["rows"]]


GENERIC = [
    ["Titel", "Resumé", "Område", "Fase", "Antal sager pr. år", "Minutter pr. sag", "Systemer"],
    ["Udbetaling af tolkeregninger", "Robotten betaler regninger.", "Social", "Drift", 400, 6.5, "KMD Nexus, eDoc"],
    ["Oprettelse af borgere i Nexus", "Robotten opretter borgere.", "sundhed_og_omsorg", "idea", None, None, None],
]


async def test_a_generic_sheet_previews_then_imports_then_is_unchanged(api: Api) -> None:
    content = xlsx(GENERIC)
    r = await upload(api, content, dry_run=True, who="editor_253")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["format"] == "generic" and report["dry_run"] is True and report["written"] is False
    assert report["summary"] == {"create": 2, "update": 0, "unchanged": 0, "error": 0}
    assert [row["row"] for row in report["rows"]] == [2, 3]
    assert report["rows"][0]["id"] == "udbetaling-af-tolkeregninger"
    assert (await api.get("/api/processes")).json()["total"] == 0  # the preview wrote nothing

    r = await upload(api, content, who="editor_253")
    assert r.status_code == 200, r.text
    assert r.json()["written"] is True
    p = (await api.get("/api/processes/udbetaling-af-tolkeregninger")).json()
    assert p["owner_municipality"] == "253" and p["domain"] == "social" and p["phase"] == "operation"
    assert p["cases_per_year"] == 400 and p["minutes_per_case"] == 6.5 and p["systems"] == ["KMD Nexus", "eDoc"]
    history = (await api.get("/api/processes/udbetaling-af-tolkeregninger/history")).json()
    assert history["revisions"][0]["action"] == "created"

    r = await upload(api, content, who="editor_253")
    assert r.status_code == 200
    assert actions(r.json()) == ["unchanged", "unchanged"]


async def test_a_changed_cell_updates_with_history(api: Api) -> None:
    await upload(api, xlsx(GENERIC), who="editor_253")
    changed = [row[:] for row in GENERIC]
    changed[1][4] = 450
    r = await upload(api, xlsx(changed), who="editor_253")
    assert r.status_code == 200
    assert actions(r.json()) == ["update", "unchanged"]
    history = (await api.get("/api/processes/udbetaling-af-tolkeregninger/history")).json()["revisions"]
    assert history[-1]["changes"] == [{"field": "cases_per_year", "old": 400, "new": 450}]


async def test_any_error_row_writes_nothing_and_answers_422(api: Api) -> None:
    bad = [row[:] for row in GENERIC]
    bad[2][4] = "mange"
    r = await upload(api, xlsx(bad), who="editor_253")
    assert r.status_code == 422
    report = r.json()
    assert report["written"] is False and report["summary"]["error"] == 1 and report["summary"]["create"] == 1
    assert report["rows"][1]["errors"] == [
        {"column": "E", "field": "cases_per_year", "message": "cases_per_year: expected a number, not 'mange'"}
    ]
    assert (await api.get("/api/processes")).json()["total"] == 0


# ---------------------------------------------------------------- export → import: unchanged


async def test_exports_import_unchanged_for_every_kind(api: Api) -> None:
    await setup_scenario(api)
    await api.post("/api/processes", process_body("Betaling af tolkeregninger", domain="social"), who="editor_376")
    r = await api.get("/api/export/processes.xlsx")
    processes = r.content
    for kind in ("processes", "adoptions"):
        r = await upload(api, processes, kind)
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["format"] == "rpabank", report
        assert report["unknown_columns"] == []
        assert set(actions(report)) == {"unchanged"}, report
    assert len(report["rows"]) == 3  # the adoptions of Greve, Guldborgsund and Køge
    csv_export = (await api.get("/api/export/processes.csv")).content
    r = await upload(api, csv_export)
    assert r.status_code == 200 and actions(r.json()) == ["unchanged", "unchanged"], r.text
    benefits = (await api.get("/api/export/benefits.xlsx")).content
    r = await upload(api, benefits, "benefits")
    assert r.status_code == 200, r.text
    assert r.json()["format"] == "rpabank" and actions(r.json()) == ["unchanged"] * 4


async def test_an_export_imports_into_an_empty_catalogue_with_its_ids(api: Api) -> None:
    await setup_scenario(api)
    content = (await api.get("/api/export/processes.xlsx")).content
    r = await api.delete(f"/api/processes/{PID}")
    assert r.status_code == 204
    r = await upload(api, content)
    assert r.status_code == 200, r.text
    assert r.json()["rows"][0] == {"row": 2, "action": "create", "id": PID}
    r = await upload(api, content, "adoptions")
    assert r.status_code == 200, r.text
    assert actions(r.json()) == ["create"] * 3
    assert (await api.get(f"/api/processes/{PID}/adoptions/376")).json()["cases_per_year"] == 600


# ---------------------------------------------------------------- OS2autoproces


# The 62 column headers of OS2autoproces's Excel export, in their order, as written by
# OS2autoproces/os2autoproces-backend, backend/src/main/java/dk/digitalidentity/ap/xls/ProcessXlsView.java
# (release 2024.10.17), and its enumerations' labels from .../ap/dao/model/enums/{Phase,Status,Domain,Visibility}.java.
OS2_HEADERS = [
    "ID", "Titel", "Resumé", "Fase", "Status", "Statustekst", "Indberetter", "Faglig kontaktperson",
    "Kontaktperson", "Mail", "Anden kontakt information", "Tilknyttede personer", "Synlighed", "Fagområder",
    "Afdelinger", "Myndighed", "Leverandør", "Lovparagraf", "KLE-nr", "KL ID", "KL's Arbejdsgangsbank",
    "Beskrivelse", "Idéer til løsning", "Udfordringer i den nuværende proces", "Nuværende systemer",
    "Andre nuværende systemer", "Oprettet", "Sidst opdateret", "Antal gange processen foretages årligt",
    "Tidsforbrug pr. proces i minutter", "Forventet automatiseringsgrad", "Manuelt tidsforbrug i timer",
    "Forventet årlig effektiviseringspotentiale", "Antal medarbejdere der foretager processen",
    "Er borgere påvirket", "Er virksomheder påvirket", "Forventet timeforbrug på udvikling",
    "Kommentarer til tidsforbrug", "I hvor høj grad indgår der faglig vurdering i processen?",
    "I hvor høj grad er processen præget af hyppige ændringer?",
    "I hvor høj grad er processen baseret på struktureret information?",
    "Er der variation i den måde processen løses?",
    "Er de data og informationer, der skal bruges i processen, tilgængelige digitalt i IT-systemer?",
    "Vil en automatiseret løsning bidrage til en højere kvalitet, som er mere ensrettet og med færre fejl?",
    "Vil en automatiseret løsning bidrage til en hurtigere og mere fyldestgørende service?",
    "Vil automatisering frigive tid og nedbringe rutineopgaver, som skaber en bedre trivsel blandt medarbejderne?",
    "I hvor høj grad vurderes det at processen kan automatiseres? ", "Teknisk implementering",
    "Organisatorisk implementering", "Anvendt teknologi", "Skedulering",
    "Automatiseringen anvender følgende systemer/snitflader", "Beskrivelse af automatisering",
    "I hvor høj grad indfriede løsningen de forventede gevinster?", "Sidst kontrolleret i forhold til §",
    "Løsningen sat i drift", "Løsningen taget ud af drift", "Kommentar til realiseret gevinster",
    "Sagsreference i ESDH", "Links", "Bilag", "Interne Noter",
]  # fmt: skip


def os2_row(os2_id: int, title: str, **cells: Any) -> list[Any]:
    values: dict[str, Any] = {
        "ID": os2_id,
        "Titel": title,
        "Resumé": f"{title}: robotten gør arbejdet.",
        "Fase": "Drift",
        "Status": "I gang",
        "Statustekst": "Kører stabilt",
        "Indberetter": "Hanne Hansen",
        "Kontaktperson": "Lars Jensen",
        "Mail": "laje@greve.dk",
        "Synlighed": "Offentlig",
        "Fagområder": "Sundhed,Social",
        "Myndighed": "Greve Kommune",
        "Leverandør": "Netcompany",
        "Lovparagraf": "Serviceloven § 83",
        "KLE-nr": "27.24.00",
        "Beskrivelse": "Robotten opretter borgere i Nexus.",
        "Idéer til løsning": "UiPath",
        "Nuværende systemer": "KMD Nexus,CPR",
        "Antal gange processen foretages årligt": 1200,
        "Tidsforbrug pr. proces i minutter": 4.5,
        "Forventet automatiseringsgrad": 80,
        "Manuelt tidsforbrug i timer": 90,
        "Forventet timeforbrug på udvikling": 100,
        "Anvendt teknologi": "UiPath",
        "Links": f"https://www.os2autoproces.eu/details/{os2_id}",
        "Interne Noter": "må ikke deles",
    }
    values.update(cells)
    return [values.get(h) for h in OS2_HEADERS]


async def test_an_os2autoproces_export_is_mapped_and_a_second_import_updates(api: Api) -> None:
    assert len(OS2_HEADERS) == 62
    sheet = xlsx([OS2_HEADERS, os2_row(4711, "Oprettelse af borgere i Nexus")], "Processer")
    r = await upload(api, sheet, dry_run=True)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["format"] == "os2autoproces" and actions(report) == ["create"]
    assert "Interne Noter" in report["ignored_columns"] and "Indberetter" in report["ignored_columns"]
    assert report["unknown_columns"] == []
    r = await upload(api, sheet)
    assert r.status_code == 200, r.text
    pid = r.json()["rows"][0]["id"]
    p = (await api.get(f"/api/processes/{pid}")).json()
    assert (p["owner_municipality"], p["domain"], p["phase"], p["status"]) == (
        "253",
        "sundhed_og_omsorg",
        "operation",
        "active",
    )
    assert (p["kle"], p["legal_basis"], p["visibility"]) == ("27.24.00", "Serviceloven § 83", "network")
    assert (p["cases_per_year"], p["minutes_per_case"], p["automation_rate"], p["build_hours"]) == (1200, 4.5, 80, 100)
    assert p["systems"] == ["KMD Nexus", "CPR"] and p["technologies"] == ["UiPath"]
    assert p["contact"] == {"name": "Lars Jensen", "email": "laje@greve.dk"}
    assert "Leverandør: Netcompany" in p["description"] and "Fagområder: Sundhed og omsorg, Social" in p["description"]
    assert "må ikke deles" not in p["description"]  # internal notes never travel

    r = await upload(api, sheet)
    assert actions(r.json()) == ["unchanged"]
    sheet = xlsx([OS2_HEADERS, os2_row(4711, "Oprettelse af borgere i Nexus", Fase="Taget ud af drift")])
    r = await upload(api, sheet)
    assert r.status_code == 200 and r.json()["rows"][0] == {"row": 2, "action": "update", "id": pid}
    assert (await api.get(f"/api/processes/{pid}")).json()["phase"] == "retired"
    assert (await api.get("/api/processes")).json()["total"] == 1


async def test_os2autoproces_values_we_cannot_map_are_errors_at_their_cells(api: Api) -> None:
    sheet = xlsx([OS2_HEADERS, os2_row(1, "A", Fase="Ukendt"), os2_row(2, "B", Myndighed="Aarhus Kommune")])
    r = await upload(api, sheet)
    assert r.status_code == 422
    rows = r.json()["rows"]
    assert rows[0]["errors"][0]["column"] == "D" and "Ukendt" in rows[0]["errors"][0]["message"]
    assert rows[1]["errors"][0]["column"] == "P" and "Aarhus" in rows[1]["errors"][0]["message"]


# ---------------------------------------------------------------- rights


async def test_an_editor_imports_only_its_own_municipalitys_rows(api: Api) -> None:
    sheet = xlsx([["Titel", "Resumé", "Område", "Kommunekode"], ["A", "a", "it", "253"], ["B", "b", "it", "376"]])
    r = await upload(api, sheet, who="editor_253")
    assert r.status_code == 422
    error = r.json()["rows"][1]["errors"][0]
    assert error["column"] == "D" and "Row 3 belongs to municipality 376" in error["message"]
    assert (await api.get("/api/processes")).json()["total"] == 0
    r = await upload(api, sheet)  # an admin imports for anyone
    assert r.status_code == 200 and actions(r.json()) == ["create", "create"]


async def test_an_editor_cannot_change_another_municipalitys_process(api: Api) -> None:
    await setup_scenario(api)
    sheet = xlsx([["ID", "Titel"], [PID, "Ny titel"]])
    r = await upload(api, sheet, who="editor_376")
    assert r.status_code == 422
    assert "belongs to municipality 253" in r.json()["rows"][0]["errors"][0]["message"]


async def test_adoptions_of_other_municipalities_are_refused_for_an_editor(api: Api) -> None:
    await setup_scenario(api)
    sheet = xlsx([["Proces-ID", "Kommunekode", "Status"], [PID, "253", "Planlagt"], [PID, "376", "Stoppet"]])
    r = await upload(api, sheet, "adoptions", who="editor_253")
    assert r.status_code == 422
    assert [row["action"] for row in r.json()["rows"]] == ["update", "error"]


@pytest.mark.parametrize(("who", "status"), [("reader", 403), (None, 401)])
async def test_readers_and_strangers_cannot_import(api: Api, who: str | None, status: int) -> None:
    if who:
        await api.token(who, "reader", "253")
    r = await api.client.post(
        "/api/imports", params={"kind": "processes"}, files={"file": ("a.xlsx", xlsx(GENERIC))}, headers=api.auth(who)
    )
    assert r.status_code == status


# ---------------------------------------------------------------- Danish spreadsheets


async def test_a_danish_csv_with_semicolons_decimal_commas_and_windows_1252(api: Api) -> None:
    text = "Titel;Resumé;Område;Minutter pr. sag;Automatiseringsgrad\r\nÅrsopgørelse;Øko;Økonomi;2,5;80 %\r\n"
    r = await upload(api, text.encode("cp1252"), who="editor_253")
    assert r.status_code == 200, r.text
    p = (await api.get(f"/api/processes/{r.json()['rows'][0]['id']}")).json()
    assert (p["title"], p["domain"], p["minutes_per_case"], p["automation_rate"]) == (
        "Årsopgørelse",
        "oekonomi",
        2.5,
        80,
    )


async def test_adoption_dates_as_danish_text_and_as_excel_dates(api: Api) -> None:
    import datetime as dt

    await setup_scenario(api)
    sheet = xlsx(
        [
            ["Proces-ID", "Kommunekode", "Status", "Startet", "I drift fra"],
            [PID, "259", "Planlagt", "01.03.2024", dt.date(2024, 9, 1)],
        ]
    )
    r = await upload(api, sheet, "adoptions")
    assert r.status_code == 200, r.text
    a = (await api.get(f"/api/processes/{PID}/adoptions/259")).json()
    assert (a["status"], a["started_on"], a["live_on"]) == ("planned", "2024-03-01", "2024-09-01")


async def test_a_formula_without_a_stored_value_is_an_error_never_evaluated(api: Api) -> None:
    sheet = xlsx([["Titel", "Resumé", "Område", "Sager pr. år"], ["A", "a", "it", "=100*12"]])
    r = await upload(api, sheet, who="editor_253")
    assert r.status_code == 422
    assert "formula without a stored value" in r.json()["rows"][0]["errors"][0]["message"]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "neither an Excel workbook"),
        (b"", "empty"),
        (b"PK\x03\x04not really a zip", "cannot be read"),
    ],
)
async def test_what_is_not_a_spreadsheet_gets_a_message(api: Api, content: bytes, message: str) -> None:
    r = await upload(api, content)
    assert r.status_code == 422
    assert message in r.json()["message"]


async def test_an_empty_sheet_and_a_header_without_rows(api: Api) -> None:
    r = await upload(api, xlsx([]))
    assert r.status_code == 422 and "empty" in r.json()["message"]
    r = await upload(api, xlsx([["Titel", "Resumé"]]))
    assert r.status_code == 422 and "no rows" in r.json()["message"]


async def test_a_file_over_20_mb_is_413(api: Api) -> None:
    content = b"Titel;Resume\r\n" + b"x;y\r\n" * (21 * 1024 * 1024 // 5)
    r = await upload(api, content)
    assert r.status_code == 413
    assert "20 MB" in r.json()["message"]


async def test_unknown_columns_are_listed_and_wrong_types_named_per_cell(api: Api) -> None:
    sheet = xlsx(
        [
            ["Titel", "Resumé", "Område", "Sager pr. år", "Personoplysninger", "Farve"],
            ["A", "a", "it", 1.5, "måske", "blå"],
            ["B", "b", "rumfart", 3, "Ja", "rød"],
        ]
    )
    r = await upload(api, sheet, who="editor_253")
    assert r.status_code == 422
    report = r.json()
    assert report["unknown_columns"] == ["Farve"]
    assert [(e["column"], e["field"]) for e in report["rows"][0]["errors"]] == [
        ("D", "cases_per_year"),
        ("E", "personal_data"),
    ]
    assert report["rows"][1]["errors"][0]["column"] == "C" and "'rumfart'" in report["rows"][1]["errors"][0]["message"]


async def test_duplicate_ids_inside_the_file(api: Api) -> None:
    sheet = xlsx([["ID", "Titel", "Resumé", "Område"], ["a-1", "A", "a", "it"], ["a-1", "B", "b", "it"]])
    r = await upload(api, sheet, who="editor_253")
    assert r.status_code == 422
    assert "row 2 already has the same id" in r.json()["rows"][1]["errors"][0]["message"]


async def test_a_mapping_names_columns_explicitly(api: Api) -> None:
    sheet = xlsx([["Navn", "Kort", "Sagsområde", "Volumen"], ["A", "a", "it", 12]])
    r = await upload(
        api, sheet, who="editor_253", dry_run=True, mapping='{"Navn": "title", "Kort": "summary", "C": "domain"}'
    )
    assert r.status_code == 200
    assert r.json()["unknown_columns"] == ["Volumen"] and actions(r.json()) == ["create"]
    r = await upload(api, sheet, who="editor_253", mapping="Navn=title;Kort=summary;C=domain;Volumen=cases_per_year")
    assert r.status_code == 200, r.text
    assert (await api.get("/api/processes/a")).json()["cases_per_year"] == 12
    r = await upload(api, sheet, who="editor_253", mapping="Navn=colour")
    assert r.status_code == 422 and "not a field of processes" in r.json()["message"]


# Reading is the same on both databases; 50,000 rows once is enough (and slow on a busy machine).
@pytest.mark.parametrize("database_kind", ["sqlite"], indirect=True)
async def test_fifty_thousand_rows_are_read_within_the_limits(api: Api) -> None:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Processer")
    ws.append(["Titel", "Resumé", "Område", "Sager pr. år"])
    for i in range(50_000):
        ws.append([f"Proces {i}", "Et resumé", "it", i])
    ws.append(["Sidste", "Et resumé", "it", "ikke et tal"])  # one error: the preview stops before writing
    out = io.BytesIO()
    wb.save(out)
    r = await upload(api, out.getvalue(), who="editor_253", dry_run=True)
    assert r.status_code == 200  # a preview answers 200, errors or not
    report = r.json()
    assert report["summary"] == {"create": 50_000, "update": 0, "unchanged": 0, "error": 1}
    assert report["rows"][-1]["row"] == 50_002
