"""The hot requests of the catalogue find their rows through indexes: a process load, PATCH's reads, POST's
checks, the process page, the list sorted by title at an offset and the vocabularies never read the whole of
`processes` (or of the tables that hang off it), so their cost follows the answer, not the catalogue's size.

The SQL each request really sends is captured from the app's engine and explained on the same database:
SQLite with EXPLAIN QUERY PLAN (its plans do not depend on row counts), PostgreSQL with EXPLAIN and
`enable_seqscan = off`, so a sequential scan is only chosen where no index can serve the query.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.engine import Engine

from catalogue.models import Adoption, Process, ProcessTerm, Term
from core.db import create_engine
from tests.conftest import Api, process_body

URL = "/api/processes"
# The tables that grow with the catalogue: a query must not read any of them whole.
GROWING = (
    "processes",
    "process_terms",
    "adoptions",
    "benefit_records",
    "process_revisions",
    "process_documents",
    "external_refs",
    "decisions",
    "votes",
    "screenings",
    "run_rules",
    "follows",  # grows with the people: every change asks who follows the process
)
# Aggregates over the whole catalogue that may read a table whole (label, table): none now; the vocabulary's counts
# are kept per term (migration 0016) and the drafts' apart (0017), the list's total too (0017), each read with the
# changes not yet folded in.
AGGREGATES: set[tuple[str, str]] = set()
SQLITE_SCAN = re.compile(r"^SCAN (\w+)\b")
PG_SCAN = re.compile(r"(Seq Scan|Index Scan|Index Only Scan)(?: Backward)?(?: using \w+)? on (\w+)")
PG_BITMAP = re.compile(r"Bitmap Heap Scan on (\w+)|(Bitmap Index Scan) on \w+")
ALIAS = re.compile(r"_\d+$")  # processes_1: SQLAlchemy's alias of processes


class Captured:
    """The statements the app's engine sends while it is listened to (each once, with its first parameters)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: dict[str, Any] = {}
        self.label = ""
        self.labels: dict[str, str] = {}

    def __enter__(self) -> Captured:
        event.listen(self.engine, "before_cursor_execute", self.seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self.seen)

    def seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if executemany or not re.match(r"\s*(SELECT|UPDATE|DELETE|WITH)\b", statement, re.I):
            return
        if statement not in self.statements:
            self.statements[statement] = parameters
            self.labels[statement] = self.label


async def seed(api: Api) -> dict[str, Any]:
    """A small catalogue with every kind of link a process load follows: terms, adoptions, a benefit record,
    a process derived from another, a duplicate, history."""
    r = await api.post(URL, process_body(), who="editor_253")
    assert r.status_code == 201, r.text
    original = r.json()
    r = await api.post(URL, process_body(title="Anden proces", derived_from=original["id"]), who="editor_253")
    assert r.status_code == 201, r.text
    derived = r.json()
    r = await api.post(URL, process_body(title="Tredje proces", tags=["andet"]), who="editor_376")
    assert r.status_code == 201, r.text
    r = await api.put(f"{URL}/{original['id']}/adoptions/376", {"status": "operation"}, who="editor_376")
    assert r.status_code == 201, r.text
    r = await api.put(f"{URL}/{original['id']}/adoptions/376/benefits/2024", {"cases_handled": 100}, who="editor_376")
    assert r.status_code == 201, r.text
    return {"original": original, "derived": derived}


FILLER = 2000
KINDS = ["system"] * 10 + ["technology"] * 5 + ["tag"] * 15


async def fill(database_url: str) -> None:
    """More processes (a tenth of them drafts, a third adopted, each with a term) and, on PostgreSQL, fresh
    statistics, so that the planner costs its choices as for a real catalogue: on a table of four rows a full
    read is as cheap as any index."""
    engine = create_engine(database_url)
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "id": f"fyld-{i:05}",
            "title": f"Fyldproces {i * 7919 % FILLER:05}",
            "summary": "Fyld.",
            "description": "",
            "domain": "oekonomi",
            "phase": "operation",
            "status": "active",
            "owner_municipality": "376" if i % 2 else "253",
            "visibility": "municipality" if i % 10 == 0 else "network",
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(FILLER)
    ]
    terms = [{"id": 1000 + k, "kind": kind, "key": f"fyld-{k}", "label": f"Fyld {k}"} for k, kind in enumerate(KINDS)]
    links = [{"process_id": r["id"], "term_id": 1000 + i % len(terms), "position": 0} for i, r in enumerate(rows)]
    adoptions = [
        {"process_id": r["id"], "municipality_code": "259", "status": "operation", "created_at": now, "updated_at": now}
        for r in rows[::3]
    ]
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(Process), rows)
            await conn.execute(insert(Term), terms)
            await conn.execute(insert(ProcessTerm), links)
            await conn.execute(insert(Adoption), adoptions)
            if conn.dialect.name == "postgresql":  # the app never runs ANALYZE on SQLite: heuristic plans there
                await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


def is_page(statement: str) -> bool:
    return re.search(r"\bLIMIT\b", statement) is not None


def sorts(lines: list[str], sqlite: bool) -> bool:
    if sqlite:
        return any("TEMP B-TREE FOR ORDER BY" in line for line in lines)
    return any(line.lstrip("-> ").startswith(("Sort", "Incremental Sort")) for line in lines)


def scans(line: str, following: list[str], sqlite: bool, heap: str) -> tuple[str, str] | None:
    """(table, how) when this plan line reads a table whole: SQLite `SCAN t` (also `SCAN t USING INDEX i`: the
    whole index, in its order); PostgreSQL a Seq Scan, or an index scan without an Index Cond of its own (the
    whole index, e.g. to read in primary key order). `how`: "rows", "index" (in its order) or "index only"."""
    if sqlite:
        m = SQLITE_SCAN.match(line.strip())
        if not m:
            return None
        how = "index only" if "COVERING INDEX" in line else "index" if " USING " in line else "rows"
        return m.group(1), how
    m = PG_SCAN.search(line)
    bitmap = PG_BITMAP.search(line)
    if m and m.group(1) == "Seq Scan":
        return m.group(2), "rows"
    if not m and not (bitmap and bitmap.group(2)):
        return None
    own = following[: next((k for k, x in enumerate(following) if "->" in x), len(following))]
    if any("Index Cond:" in x for x in own):
        return None
    if m:
        return m.group(2), "index only" if m.group(1) == "Index Only Scan" else "index"
    return heap, "index"  # a Bitmap Index Scan, of the table of the Bitmap Heap Scan above it


def full_scans(sqlite: bool, plans: dict[str, list[str]], labels: dict[str, str]) -> list[tuple[str, str]]:
    """(statement, plan line) of each read of a growing table whole, except
    - a page (LIMIT) read in an index's order without a sort: it stops after LIMIT + OFFSET rows;
    and of each page of processes that is sorted: every matching process is read to give one page."""
    found = []
    for statement, lines in plans.items():
        heap = ""
        for i, line in enumerate(lines):
            bitmap = None if sqlite else PG_BITMAP.search(line)
            if bitmap and bitmap.group(1):
                heap = bitmap.group(1)
            read = scans(line, lines[i + 1 :], sqlite, heap)
            if read is None:
                continue
            table, how = ALIAS.sub("", read[0]), read[1]
            if table not in GROWING or (labels[statement], table) in AGGREGATES:
                continue
            if how != "rows" and is_page(statement) and not sorts(lines, sqlite):
                continue
            found.append((statement, line))
        if is_page(statement) and sorts(lines, sqlite) and re.search(r"\bFROM processes\b", statement):
            found.append((statement, "sorts every matching process to give one page"))
    return found


async def explain(database_url: str, statements: dict[str, Any]) -> dict[str, list[str]]:
    engine = create_engine(database_url)
    plans: dict[str, list[str]] = {}
    try:
        async with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if not sqlite:
                await conn.execute(text("SET enable_seqscan = off"))
            for statement, parameters in statements.items():
                prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
                rows = (await conn.exec_driver_sql(prefix + statement, parameters)).all()
                plans[statement] = [str(row[-1]) for row in rows]
            await conn.rollback()
    finally:
        await engine.dispose()
    return plans


async def test_hot_requests_use_indexes(api: Api, database_kind: str, settings: Any) -> None:
    seeded = await seed(api)
    await fill(settings.effective_database_url)
    pid, derived = seeded["original"]["id"], seeded["derived"]["id"]
    with Captured(api.client.app.state.engine.sync_engine) as captured:
        captured.label = "GET /api/processes/{id}"
        r = await api.get(f"{URL}/{pid}")
        assert r.status_code == 200 and r.json()["derived"] == [derived]
        r = await api.get(f"{URL}/{derived}")
        captured.label = "PATCH /api/processes/{id}"
        body = {"summary": "Ny tekst", "tags": ["nyt"], "derived_from": pid}
        r = await api.patch(f"{URL}/{derived}", body, who="editor_253", headers={"If-Match": r.headers["etag"]})
        assert r.status_code == 200, r.text
        captured.label = "POST /api/processes"
        r = await api.post(URL, process_body(derived_from=derived), who="editor_253")  # a taken title: a -2 slug
        assert r.status_code == 201, r.text
        captured.label = "GET /processes/{id}"
        r = await api.get(f"/processes/{pid}")
        assert r.status_code == 200
        captured.label = "GET /api/processes?offset="
        r = await api.get(f"{URL}?limit=2&offset=1")
        assert r.status_code == 200 and r.json()["total"] == 4 + FILLER * 9 // 10
        r = await api.get(f"{URL}?limit=2&offset=1", who="editor_253")
        assert r.status_code == 200
        captured.label = "GET /api/vocabularies/system"
        r = await api.get("/api/vocabularies/system")
        assert r.status_code == 200 and r.json()
        r = await api.get("/api/vocabularies/tag", who="editor_376")
        assert r.status_code == 200 and r.json()
    assert len(captured.statements) > 10, captured.statements  # the capture did see the requests' queries
    plans = await explain(settings.effective_database_url, captured.statements)
    scans = full_scans(database_kind == "sqlite", plans, captured.labels)
    report = "\n\n".join(
        f"[{captured.labels[s]}] {' '.join(s.split())}\n  " + "\n  ".join(plans[s])
        for s in dict.fromkeys(s for s, _ in scans)
    )
    assert not scans, f"{len(scans)} full scans of a growing table:\n\n{report}"
