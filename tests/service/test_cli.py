"""The `rpabank` command line, run in-process on each test database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from litestar.testing import TestClient

from catalogue.tokens import hash_token
from service.app import create_app
from service.cli import main
from service.settings import Settings


def env(settings: Settings) -> dict[str, str]:
    return {"RPABANK_DATA_DIR": str(settings.data_dir), "RPABANK_DATABASE_URL": settings.effective_database_url}


def run(settings: Settings, *argv: str) -> int:
    return main(list(argv), env(settings))


def demo_export(tmp_path: Path) -> Path:
    """The demo catalogue exported to a JSON file (made in a data folder of its own)."""
    source = Settings(data_dir=tmp_path / "source")
    assert run(source, "demo", "--no-serve") == 0
    export = tmp_path / "export.json"
    assert run(source, "export", str(export)) == 0
    return export


def test_demo_loads_the_network_and_at_least_15_processes(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(settings, "demo", "--no-serve") == 0
    assert "Loaded the demo" in capsys.readouterr().out
    with TestClient(create_app(settings)) as client:
        page = client.get("/api/processes?limit=500").json()
        assert page["total"] >= 15
        titles = {p["title"] for p in page["items"]}
        for named in (
            "Bogføring af indtægter på hovedkonto",
            "Indhentning af børne- og straffeattester",
            "Betaling af tolkeregninger",
        ):
            assert named in titles
        assert any(t.startswith("Udrejseregistrering") for t in titles)
        assert any(t.startswith("Betaling af helbredstillæg") for t in titles)
        municipalities = client.get("/api/municipalities").json()
        assert len(municipalities) == 12
        odsherred = next(m for m in municipalities if m["code"] == "306")
        assert odsherred["is_member"] is False
        adopters = {a for p in page["items"] for a in p["adopted_by"]}
        assert len(adopters) >= 6
    # a second run leaves the catalogue as it is
    assert run(settings, "demo", "--no-serve") == 0
    assert "has data already" in capsys.readouterr().out


def test_tokens_create_list_revoke(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(settings, "demo", "--no-serve") == 0
    capsys.readouterr()
    assert run(settings, "token", "create", "--role", "editor", "--municipality", "253", "--name", "Greve RPA") == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("rpab_") and "\n" not in secret  # only the token on stdout

    with TestClient(create_app(settings)) as client:
        auth = {"Authorization": f"Bearer {secret}"}
        r = client.patch(
            "/api/processes/indhentning-af-boerne-og-straffeattester",
            json={"tags": ["x"]},
            headers={**auth, "If-Match": "*"},
        )
        assert r.status_code == 200  # the token is recognised: its municipality owns the demo process …
        r = client.put(
            "/api/processes/indhentning-af-boerne-og-straffeattester/adoptions/253",
            json={"status": "operation"},
            headers=auth,
        )
        assert r.status_code == 200  # … and may replace its own municipality's adoption

    assert run(settings, "token", "list", "--json") == 0
    tokens = json.loads(capsys.readouterr().out)
    assert tokens[0]["name"] == "Greve RPA" and tokens[0]["municipality"] == "253"
    assert secret not in json.dumps(tokens) and hash_token(secret) not in json.dumps(tokens)

    assert run(settings, "token", "revoke", str(tokens[0]["id"])) == 0
    with TestClient(create_app(settings)) as client:
        r = client.put(
            "/api/processes/indhentning-af-boerne-og-straffeattester/adoptions/253",
            json={"status": "stopped"},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert r.status_code == 401

    assert run(settings, "token", "create", "--role", "editor") == 2  # needs a municipality
    assert "municipality" in capsys.readouterr().err


def test_export_import_round_trip_is_identical(settings: Settings, tmp_path: Path) -> None:
    assert run(settings, "demo", "--no-serve") == 0
    first = tmp_path / "first.json"
    assert run(settings, "export", str(first)) == 0
    doc = json.loads(first.read_text())
    assert doc["format"] == "rpabank-catalogue"
    assert len(doc["processes"]) >= 15 and doc["history"] and doc["adoptions"]
    assert len(doc["benefits"]) >= 20 and {b["period"] for b in doc["benefits"]} >= {"2022", "2023-Q1", "2024-01"}
    assert any(m["hourly_cost_dkk"] for m in doc["municipalities"])

    other = Settings(data_dir=tmp_path / "other")
    assert run(other, "import", str(first)) == 0
    second = tmp_path / "second.json"
    assert run(other, "export", str(second)) == 0
    assert second.read_bytes() == first.read_bytes()

    # importing again into a non-empty catalogue is refused and changes nothing
    assert run(other, "import", str(first)) == 2
    third = tmp_path / "third.json"
    assert run(other, "export", str(third)) == 0
    assert third.read_bytes() == first.read_bytes()


def test_a_broken_import_leaves_nothing_behind(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = demo_export(tmp_path)
    doc = json.loads(export.read_text())
    doc["adoptions"].append(dict(doc["adoptions"][0]))  # the same adoption twice, at the very end
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc))
    capsys.readouterr()
    assert run(settings, "import", str(broken)) == 2
    assert "twice" in capsys.readouterr().err

    # a clash only the database notices (two municipalities with one name) also leaves nothing behind
    doc = json.loads(export.read_text())
    doc["municipalities"][-1]["name"] = doc["municipalities"][0]["name"]
    broken.write_text(json.dumps(doc))
    assert run(settings, "import", str(broken)) == 2
    assert "clash" in capsys.readouterr().err
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/processes").json()["total"] == 0
        assert client.get("/api/municipalities").json() == []

    (tmp_path / "garbage.json").write_text("{not json")
    assert run(settings, "import", str(tmp_path / "garbage.json")) == 2
    assert "not a catalogue export" in capsys.readouterr().err
    assert run(settings, "import", str(tmp_path / "missing.json")) == 2


def test_reindex_command_rebuilds_from_the_database(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"RPABANK_DATA_DIR": str(settings.data_dir), "RPABANK_DATABASE_URL": settings.effective_database_url}
    assert main(["demo", "--no-serve"], env) == 0
    index_dir = settings.data_dir / "search"
    first = (index_dir / "current").read_text() if settings.is_sqlite else None
    assert main(["reindex"], env) == 0
    assert "Rebuilt the search index" in capsys.readouterr().out
    if settings.is_sqlite:  # FTS5: a new file swapped in, the old one gone
        second = (index_dir / "current").read_text()
        assert first != second and (index_dir / second).exists() and not (index_dir / first).exists()
    else:  # PostgreSQL: the search lives in the database, no file in the data folder
        assert not index_dir.exists()
    backend = settings.open_search()
    try:
        from search.documents import SearchQuery, Viewer

        result = backend.search(SearchQuery(text="straffeattester", viewer=Viewer()))
        assert result.hits[0].id == "indhentning-af-boerne-og-straffeattester"
        assert backend.count() >= 12 + 15
    finally:
        backend.close()


def test_serve_no_migrate_leaves_the_schema_to_db_upgrade(tmp_path: Path) -> None:
    """`serve --no-migrate` does not touch the schema (readiness says so); `db upgrade` as a one-shot job does."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    from tests.conftest import free_port
    from tests.service.test_observability import stop

    data = tmp_path / "data"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("RPABANK_", "PROMETHEUS_"))}
    environ["RPABANK_DATA_DIR"] = str(data)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--no-migrate", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[2],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health/live", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)
        ready = httpx.get(f"{base}/api/health/ready", timeout=10)
        assert ready.status_code == 503
        assert "migrations" in {f["check"] for f in ready.json()["failing"]}
        assert main(["db", "upgrade"], {"RPABANK_DATA_DIR": str(data)}) == 0
        assert httpx.get(f"{base}/api/health/ready", timeout=10).status_code == 200
    finally:
        stop(process)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "postgresql+asyncpg://nobody:secret@127.0.0.1:1/x",
            "cannot use the database postgresql+asyncpg://nobody:***@",
        ),
        ("mysql://x", "needs a driver that is not installed"),
        ("not a url", "RPABANK_DATABASE_URL is not a database URL"),
    ],
)
def test_serve_with_a_wrong_database_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, says: str
) -> None:
    env = {"RPABANK_DATA_DIR": str(tmp_path), "RPABANK_DATABASE_URL": url}
    assert main(["serve", "--port", "8699"], env) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err
    assert "secret" not in err and "Traceback" not in err


def test_import_sheet_previews_writes_and_reports_errors(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from catalogue.schemas import MunicipalityCreate
    from catalogue.services import MunicipalityService
    from core.actors import Actor
    from service.cli import in_session
    from tests.service.controllers.test_imports import GENERIC, xlsx

    admin = Actor(role="admin", name="admin")
    in_session(settings, lambda s: MunicipalityService(s).create(admin, MunicipalityCreate(code="253", name="Greve")))
    rows = [[*GENERIC[0], "Kommunekode"], *[[*row, "253"] for row in GENERIC[1:]]]
    sheet = tmp_path / "processer.xlsx"
    sheet.write_bytes(xlsx(rows))
    assert run(settings, "import-sheet", str(sheet), "--kind", "processes", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "2 to create" in out and "nothing written (dry run)" in out
    assert run(settings, "import-sheet", str(sheet), "--kind", "processes") == 0
    assert "2 to create, 0 to update, 0 unchanged, 0 in error; written." in capsys.readouterr().out
    assert run(settings, "import-sheet", str(sheet), "--kind", "processes", "--json") == 0
    assert json.loads(capsys.readouterr().out)["summary"]["unchanged"] == 2
    rows[2][4] = "mange"
    sheet.write_bytes(xlsx(rows))
    assert run(settings, "import-sheet", str(sheet), "--kind", "processes") == 1
    out = capsys.readouterr().out
    assert "nothing written" in out and "row 3, column E: cases_per_year: expected a number, not 'mange'" in out
    assert run(settings, "import-sheet", str(tmp_path / "findes-ikke.xlsx"), "--kind", "processes") == 2


def test_import_refuses_what_the_api_refuses_one_line_per_problem_and_writes_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = demo_export(tmp_path)
    doc = json.loads(export.read_text())
    processes = doc["processes"]
    processes[0]["version"] = -3
    a, b = processes[1], processes[2]
    a["derived_from"], b["derived_from"] = b["id"], a["id"]  # a cycle in the reuse lineage
    processes[3]["created_at"] = "2024-05-01T10:00:00"  # no time zone
    processes[4]["title"] = "Bell\x07 in the title"
    doc["municipalities"][0]["member_since"], doc["municipalities"][0]["member_until"] = "2024-01-01", "2020-01-01"
    doc["adoptions"][0]["notes"] = "escape \x1b[31m"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc))
    capsys.readouterr()

    assert run(settings, "import", str(broken)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert all(line.startswith("rpabank: ") for line in lines)
    joined = "\n".join(lines)
    assert f"processes[0] ({processes[0]['id']}): version" in joined
    assert "cycle" in joined and a["id"] in joined
    assert f"processes[3] ({processes[3]['id']}): created_at" in joined and "time zone" in joined
    assert f"processes[4] ({processes[4]['id']}): title: control characters" in joined
    assert "member_until must not be before member_since" in joined
    assert "adoptions[0]" in joined and "notes: control characters" in joined
    assert len(lines) >= 6
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/processes").json()["total"] == 0
        assert client.get("/api/municipalities").json() == []
