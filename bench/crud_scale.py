"""Reading and writing one process at scale: does a request cost the same at 100,000 processes as at 10,000?

For each catalogue size and database (SQLite, PostgreSQL) a catalogue of generated processes
(`bench.catalogue_gen`: titles, descriptions, systems and technologies, owners; a third adopted by other
municipalities with a benefit record, one in twenty derived from an earlier process, one in fifty a draft) is
written straight into a database migrated to 0014, the schema before the indexes of 0015. Then, each on a real
`rpabank serve`:

- with `--before DIR` first an older checkout, after its own `db upgrade` (to the newest schema it knows);
- then this checkout, after its `db upgrade` to the newest schema.

Each is measured `--repeat` times, each time on a newly started server: the table shows the median of the
repeats' p50 and p95, and with more than one repeat the lowest and highest p50 (how much the machine's noise
moves a figure).

Measured (p50/p95 over `--rounds` requests each, after a few to warm up): GET /api/processes/{id}, PATCH with
If-Match (its GET for the ETag is not counted), POST of a new process (with derived_from, a title the catalogue
has already: the slug needs a free `-n`), and alone the search for likely duplicates that POST makes
(/api/processes/similar: the search engine's cost, not the database's), the process page /processes/{id}, the
list (by title) at offset 0 and 5,000, and /api/vocabularies/system. Reads are anonymous (the network's view);
writes by the admin token.

    .venv/bin/python bench/crud_scale.py [--sizes 10000,100000] [--engines sqlite,postgres] [--rounds 20]
                                         [--repeat 1] [--before /work/before] [--pg-url postgresql://…] [--port 8710]

PostgreSQL runs in a database `<--db-prefix>_<pid>_<size>` made and dropped by the run. The search index is
built once per catalogue, before the first server starts. The machine may be busy: compare the columns of one
run (ratios), not runs made at different times.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":  # not this folder's `search.py` for `search`
    del sys.path[0]
sys.path.append(str(ROOT))

from bench.catalogue_gen import MUNICIPALITIES, municipality_rows  # noqa: E402
from bench.scale import DEFAULT_PG, pg_admin, wait_until_up  # noqa: E402

ADMIN_TOKEN = "bench-admin-token"
BEFORE_INDEXES = "0014"  # the schema the catalogue is written at: what the code before 0015 runs on
REQUESTS = [
    ("GET /api/processes/{id}", "get"),
    ("PATCH /api/processes/{id}", "patch"),
    ("POST /api/processes", "post"),
    ("  its search: /similar", "similar"),
    ("page /processes/{id}", "page"),
    ("list by title, offset 0", "list0"),
    ("list by title, offset 5000", "list5000"),
    ("GET /api/vocabularies/system", "vocabulary"),
]


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


# ---------------------------------------------------------------- the catalogue


async def fill(url: str, n: int, seed: int = 11) -> None:
    """A catalogue of `n` generated processes, written at schema 0014 (the rows as the services write them)."""
    from sqlalchemy import column, insert, table, text

    from bench.catalogue_gen import processes
    from catalogue.models import (
        Adoption,
        BenefitRecord,
        Municipality,
        Process,
        ProcessRevision,
        ProcessTerm,
    )
    from catalogue.vocab import term_key
    from core.db import create_engine
    from service.db import upgrade

    terms_0014 = table("terms", column("id"), column("kind"), column("key"), column("label"))  # (no `uses` yet)
    rng = random.Random(seed)
    engine = create_engine(url)
    await upgrade(engine, BEFORE_INDEXES)
    now = dt.datetime.now(dt.UTC)
    terms: dict[tuple[str, str], int] = {}
    async with engine.begin() as conn:
        await conn.execute(insert(Municipality), municipality_rows(now))
        batch: list[Any] = []
        for i, doc in enumerate(processes(n, seed)):
            batch.append(doc)
            if len(batch) == 5000 or i == n - 1:
                start = i + 1 - len(batch)
                rows, links, adoptions, benefits, revisions, new_terms = [], [], [], [], [], []
                for k, d in enumerate(batch):
                    number = start + k
                    owner = d.facets["municipality"][0]
                    rows.append(
                        {
                            "id": d.id,
                            "title": d.title[:120],
                            "summary": (d.summary or "")[:280],
                            "description": d.body,
                            "domain": d.facets["domain"][0],
                            "phase": d.facets["phase"][0],
                            "status": "active",
                            "owner_municipality": owner,
                            "cases_per_year": rng.randint(100, 20000),
                            "minutes_per_case": Decimal(rng.randint(2, 30)),
                            "automation_rate": Decimal(rng.randint(40, 100)),
                            "build_hours": Decimal(rng.randint(20, 400)),
                            "derived_from": f"proces-{rng.randrange(number)}"
                            if number and rng.random() < 0.05
                            else None,
                            "visibility": "municipality" if rng.random() < 0.02 else "network",
                            "personal_data": rng.random() < 0.5,
                            "dpia_done": False,
                            "version": 1,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    labels = [("system", s) for s in d.facets["system"]] + [
                        ("technology", t) for t in d.facets["technology"]
                    ]
                    for position, (kind, label) in enumerate(labels):
                        key = (kind, term_key(label))
                        if key not in terms:
                            terms[key] = len(terms) + 1
                            new_terms.append({"id": terms[key], "kind": kind, "key": key[1], "label": label})
                        links.append({"process_id": d.id, "term_id": terms[key], "position": position})
                    if rng.random() < 1 / 3:
                        for code in rng.sample([c for c in MUNICIPALITIES if c != owner], rng.randint(1, 2)):
                            status = rng.choice(["interested", "implementing", "operation"])
                            adoptions.append(
                                {
                                    "process_id": d.id,
                                    "municipality_code": code,
                                    "status": status,
                                    "created_at": now,
                                    "updated_at": now,
                                }
                            )
                            if status == "operation":
                                benefits.append(
                                    {
                                        "process_id": d.id,
                                        "municipality_code": code,
                                        "period": "2024",
                                        "cases_handled": rng.randint(10, 5000),
                                        "budget_realised": False,
                                        "source": "manual",
                                        "created_at": now,
                                        "updated_at": now,
                                    }
                                )
                    revisions.append(
                        {"process_id": d.id, "version": 1, "actor": "bench", "action": "created", "changes": []}
                    )
                if new_terms:
                    await conn.execute(insert(terms_0014), new_terms)
                await conn.execute(insert(Process), rows)
                await conn.execute(insert(ProcessTerm), links)
                if adoptions:
                    await conn.execute(insert(Adoption), adoptions)
                if benefits:
                    await conn.execute(insert(BenefitRecord), benefits)
                await conn.execute(insert(ProcessRevision), [{**r, "changed_at": now} for r in revisions])
                batch = []
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT setval(pg_get_serial_sequence('terms', 'id'), :n)"), {"n": len(terms)})
    await analyze(engine)
    await engine.dispose()


async def analyze(engine: Any) -> None:
    """Fresh planner statistics on PostgreSQL (autovacuum would gather them soon after a bulk load)."""
    from sqlalchemy import text

    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))


def upgrade_with(src: Path, data_dir: Path, url: str) -> None:
    """The checkout `src` brings the database to the newest schema it knows (its own migrations)."""
    env = {**os.environ, "PYTHONPATH": str(src), "RPABANK_DATA_DIR": str(data_dir), "RPABANK_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "service.cli", "db", "upgrade"], env=env, cwd=src, check=True, stdout=subprocess.DEVNULL
    )
    asyncio.run(analyze_url(url))


async def analyze_url(url: str) -> None:
    from core.db import create_engine

    engine = create_engine(url)
    await analyze(engine)
    await engine.dispose()


async def build_search(data_dir: Path, url: str) -> float:
    """The search index of the catalogue (as a server starting on an empty index builds it); its seconds."""
    from core.db import create_engine, session_factories
    from service.indexing import Indexer
    from service.settings import Settings

    settings = Settings(data_dir=data_dir, database_url=url)
    engine = create_engine(settings.effective_database_url)
    backend = settings.open_search()
    started = time.perf_counter()
    try:
        read, write = session_factories(engine)
        await Indexer(backend, read, write, settings.codebank(), lock_dir=data_dir).rebuild()
    finally:
        backend.close()
        await engine.dispose()
    return time.perf_counter() - started


# ---------------------------------------------------------------- the measurements


Figures = dict[str, tuple[float, float, float, float]]  # request → (p50, p95, lowest p50, highest p50)


def repeated(runs: list[dict[str, tuple[float, float]]]) -> Figures:
    """The median p50 and p95 of several measurements of the same requests, and the spread of their p50."""
    return {
        key: (
            statistics.median(r[key][0] for r in runs),
            statistics.median(r[key][1] for r in runs),
            min(r[key][0] for r in runs),
            max(r[key][0] for r in runs),
        )
        for key in runs[0]
    }


def measure(src: Path, data_dir: Path, url: str, n: int, rounds: int, port: int) -> dict[str, tuple[float, float]]:
    """p50/p95 (ms) of each request against a `rpabank serve` of the checkout `src` on this catalogue."""
    import httpx

    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "RPABANK_DATA_DIR": str(data_dir),
        "RPABANK_DATABASE_URL": url,
        "RPABANK_ADMIN_TOKEN": ADMIN_TOKEN,
        "RPABANK_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--no-migrate"],
        env=env,
        cwd=src,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rng = random.Random(5)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    out: dict[str, tuple[float, float]] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            wait_until_up(client, server, 1800)

            def some_id() -> str:
                return f"proces-{rng.randrange(n)}"

            def timed(send: Callable[[], httpx.Response]) -> float:
                started = time.perf_counter()
                r = send()
                took = (time.perf_counter() - started) * 1000
                assert r.status_code < 400 or r.status_code == 404, (r.status_code, r.text[:300])
                return took

            def get() -> float:
                return timed(lambda: client.get(f"/api/processes/{some_id()}"))

            def patch() -> float:
                pid = some_id()
                tag = client.get(f"/api/processes/{pid}", headers=admin).headers["etag"]
                body = {"summary": f"Ændret af målingen {rng.random():.6f}"}
                return timed(
                    lambda: client.patch(f"/api/processes/{pid}", json=body, headers={**admin, "If-Match": tag})
                )

            def post() -> float:
                original = client.get(f"/api/processes/{some_id()}", headers=admin).json()
                body = {
                    "title": original["title"],  # a title the catalogue has: its id is the first free `-n`
                    "summary": "En kopi til målingen.",
                    "domain": original["domain"],
                    "phase": "idea",
                    "systems": original["systems"],
                    "owner_municipality": "253",
                    "derived_from": original["id"],
                }
                return timed(lambda: client.post("/api/processes", json=body, headers=admin))

            def similar() -> float:  # what POST asks the search (likely duplicates), alone
                title = client.get(f"/api/processes/{some_id()}", headers=admin).json()["title"]
                query = {"title": title, "summary": "En kopi til målingen."}
                return timed(lambda: client.get("/api/processes/similar", params=query, headers=admin))

            def page() -> float:
                return timed(lambda: client.get(f"/processes/{some_id()}"))

            def page_list(offset: int) -> Callable[[], float]:
                return lambda: timed(lambda: client.get(f"/api/processes?limit=50&offset={offset}"))

            def vocabulary() -> float:
                return timed(lambda: client.get("/api/vocabularies/system"))

            runs: dict[str, Callable[[], float]] = {
                "get": get,
                "patch": patch,
                "post": post,
                "similar": similar,
                "page": page,
                "list0": page_list(0),
                "list5000": page_list(5000),
                "vocabulary": vocabulary,
            }
            for key, run in runs.items():
                for _ in range(3):
                    run()
                samples = [run() for _ in range(rounds)]
                out[key] = (percentile(samples, 50), percentile(samples, 95))
    finally:
        server.terminate()
        server.wait(timeout=60)
    return out


# ---------------------------------------------------------------- the run


def main() -> None:
    from service.settings import Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1, help="measurements of each code, each on a new server")
    parser.add_argument("--before", type=Path, help="an older checkout (schema 0014) to measure first")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--db-prefix", default="idx_crud")
    parser.add_argument("--port", type=int, default=8710)
    args = parser.parse_args()

    from sqlalchemy.engine import make_url

    sizes = [int(s) for s in args.sizes.split(",")]
    codes = ([("before", args.before.resolve())] if args.before else []) + [("after", ROOT)]
    results: dict[tuple[str, int, str], Figures] = {}
    for engine in args.engines.split(","):
        for n in sizes:
            with tempfile.TemporaryDirectory(prefix=f"rpabank-crud-{n}-") as tmp:
                data_dir = Path(tmp)
                name = f"{args.db_prefix}_{os.getpid()}_{n}"
                if engine == "sqlite":
                    url = Settings(data_dir=data_dir).effective_database_url
                else:
                    pg_admin(args.pg_url, f'CREATE DATABASE "{name}"')
                    url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
                    url = Settings(data_dir=data_dir, database_url=url).effective_database_url
                try:
                    started = time.perf_counter()
                    asyncio.run(fill(url, n))
                    filled = time.perf_counter() - started
                    indexed = asyncio.run(build_search(data_dir, url))
                    print(
                        f"{engine} {n:,}: written in {filled:.0f} s, search index in {indexed:.0f} s", file=sys.stderr
                    )
                    for label, src in codes:
                        upgrade_with(src, data_dir, url)
                        runs = [measure(src, data_dir, url, n, args.rounds, args.port) for _ in range(args.repeat)]
                        results[(engine, n, label)] = repeated(runs)
                        print(f"  {label}: {results[(engine, n, label)]}", file=sys.stderr)
                finally:
                    if engine == "postgres":
                        pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report(results, args.engines.split(","), sizes, [label for label, _ in codes], args.rounds, args.repeat)


def report(
    results: dict[tuple[str, int, str], Figures],
    engines: list[str],
    sizes: list[int],
    labels: list[str],
    rounds: int,
    repeat: int = 1,
) -> None:
    small, large = sizes[0], sizes[-1]
    print(f"p50 / p95 in ms over {rounds} requests each; ratio: p50 at {large:,} / p50 at {small:,}")
    if repeat > 1:
        print(f"median of {repeat} measurements each, [lowest p50 – highest p50]; ratio range: lowest / highest")
    width = 32 if repeat > 1 else 16
    for engine in engines:
        for label in labels:
            print(f"\n{engine}, {label}")
            print(f"{'':32}{f'{small // 1000}k':>{width}}{f'{large // 1000}k':>{width}}{'ratio':>8}")
            for title, key in REQUESTS:
                cells = []
                for n in (small, large):
                    r = results.get((engine, n, label), {}).get(key)
                    spread = f" [{r[2]:.0f}–{r[3]:.0f}]" if r and repeat > 1 else ""
                    cells.append(f"{r[0]:7.1f} / {r[1]:6.1f}{spread}" if r else "-")
                a = results.get((engine, small, label), {}).get(key)
                b = results.get((engine, large, label), {}).get(key)
                ratio = f"{b[0] / a[0]:.2f}×" if a and b and len(sizes) > 1 else "-"
                if a and b and len(sizes) > 1 and repeat > 1:
                    ratio += f" ({b[2] / a[3]:.2f}–{b[3] / a[2]:.2f})"
                print(f"{title:32}{cells[0]:>{width}}{cells[-1]:>{width}}{ratio:>8}")


if __name__ == "__main__":
    main()
