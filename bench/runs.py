"""Run import benchmark: a year of a busy bot (default 1,000,000 runs) in a generic CSV, imported the way
`POST /api/runs/import` does it (the same service, streaming in batches), into a fresh database.

Prints the file's size, runs/s for the import and for importing the same file again (every run a duplicate),
and the process's peak resident memory before and after (the file is never held in memory):

    .venv/bin/python bench/runs.py [--runs 1000000] [--engine sqlite|postgres] [--pg-url URL]

With `--engine postgres` a fresh database `rpabank_bench_runs_<hex>` is made on the server of `--pg-url` (default
the local test server) and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalogue.models import Adoption, Municipality, Process  # noqa: E402
from catalogue.runs import RunService  # noqa: E402
from catalogue.schemas import RunRuleWrite  # noqa: E402
from core.actors import Actor  # noqa: E402
from core.db import create_engine, session_factories, utcnow  # noqa: E402
from service.db import upgrade  # noqa: E402

DEFAULT_PG = os.environ.get("RPABANK_BENCH_PG_URL") or "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ADMIN = Actor(role="admin", name="bench", auth="admin-token")
OUTCOMES = ["success"] * 90 + ["failure"] * 7 + ["business_exception"] * 3


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_file(path: Path, runs: int) -> None:
    """Runs spread over 2024, two flows of one municipality, 90 % successful."""
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(days=366) / runs
    with path.open("w", encoding="utf-8") as f:
        f.write("id;ended_at;outcome;units;key\n")
        for i in range(runs):
            ended = (start + step * i).isoformat(timespec="seconds")
            key = "Sygedagpenge" if i % 4 else "Tolkeregninger"
            f.write(f"run-{i:08d};{ended};{OUTCOMES[i % 100]};{1 + i % 3};{key}\n")


async def seed(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    async with session_factories(engine)[1]() as session:
        now = utcnow()
        session.add(Municipality(code="253", name="Greve", aliases=[], created_at=now, updated_at=now))
        await session.flush()
        for pid in ("sygedagpenge", "tolkeregninger"):
            session.add(
                Process(
                    id=pid,
                    title=pid.title(),
                    summary="Benchmark",
                    domain="beskaeftigelse",
                    phase="operation",
                    status="active",
                    owner_municipality="253",
                    minutes_per_case=4,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.flush()
            session.add(
                Adoption(process_id=pid, municipality_code="253", status="operation", created_at=now, updated_at=now)
            )
        await session.flush()
        service = RunService(session)
        await service.put_rule(ADMIN, "sygedagpenge", "253", RunRuleWrite(run_keys=["Sygedagpenge"]))
        await service.put_rule(ADMIN, "tolkeregninger", "253", RunRuleWrite(unit="run", run_keys=["Tolkeregninger"]))
        await session.commit()
    await engine.dispose()


async def import_once(url: str, path: Path) -> tuple[float, dict[str, int]]:
    engine = create_engine(url)
    try:
        async with session_factories(engine)[1]() as session:
            started = time.perf_counter()
            with path.open("rb") as f:
                report = await RunService(session).import_file(ADMIN, f, "253", dry_run=False)
            await session.commit()
            return time.perf_counter() - started, report.summary
    finally:
        await engine.dispose()


async def admin_sql(url: str, sql: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rpabank-bench-runs-") as tmp:
        path = Path(tmp) / "runs.csv"
        started = time.perf_counter()
        write_file(path, args.runs)
        print(
            f"file: {args.runs:,} runs, {path.stat().st_size / 1e6:.1f} MB, "
            f"written in {time.perf_counter() - started:.1f} s"
        )
        dropped: str | None = None
        if args.engine == "postgres":
            name = f"rpabank_bench_runs_{uuid.uuid4().hex[:8]}"
            server = make_url(args.pg_url)
            await admin_sql(args.pg_url, f'CREATE DATABASE "{name}"')
            url = server.set(database=name).render_as_string(hide_password=False)
            dropped = name
        else:
            url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        try:
            await seed(url)
            print(f"peak RSS before the import: {peak_rss_mb():.0f} MB")
            for label in ("import", "again (all duplicates)"):
                seconds, summary = await import_once(url, path)
                print(
                    f"{label} [{args.engine}]: {seconds:.1f} s, {args.runs / seconds:,.0f} runs/s, {summary}, "
                    f"peak RSS {peak_rss_mb():.0f} MB"
                )
        finally:
            if dropped:
                await admin_sql(args.pg_url, f'DROP DATABASE IF EXISTS "{dropped}"')


if __name__ == "__main__":
    asyncio.run(main())
