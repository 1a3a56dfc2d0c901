"""Import benchmark: a generated spreadsheet of processes through the importer, as POST /api/imports runs it.

Prints rows/s for reading + planning (the preview of a new file stops before the services when a row is in error,
so it is measured on a file with one bad row), for the preview and the import of 10,000 new processes, and for
importing the same file again (every row `unchanged`); and the peak memory (Python's heap, by tracemalloc, and
the process's maximum resident size).

    .venv/bin/python bench/imports.py [--rows 10000] [--database-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook  # noqa: E402
from sqlalchemy import text  # noqa: E402

from catalogue.imports import Importer, import_sheet  # noqa: E402
from catalogue.schemas import ImportReport, MunicipalityCreate  # noqa: E402
from catalogue.services import MunicipalityService  # noqa: E402
from core.actors import Actor  # noqa: E402
from core.db import create_engine, session_factories  # noqa: E402
from service.db import upgrade  # noqa: E402

ADMIN = Actor(role="admin", name="bench")
DOMAINS = ["Social", "Økonomi", "HR og løn", "Børn og unge", "Teknik"]
SYSTEMS = ["KMD Nexus", "eDoc", "SAP", "Opus", "Outlook", "CPR"]


def sheet(rows: int, bad_last: bool = False) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Processer")
    ws.append(["Titel", "Resumé", "Område", "Fase", "Kommunekode", "Sager pr. år", "Minutter pr. sag", "Systemer"])
    for i in range(rows):
        ws.append(
            [
                f"Proces nummer {i} for borgerservice",
                f"Robotten klarer sag nummer {i} fra ende til anden.",
                DOMAINS[i % len(DOMAINS)],
                "Drift",
                "253",
                100 + i,
                2.5 + i % 7,
                ", ".join(SYSTEMS[i % 4 : i % 4 + 2]),
            ]
        )
    if bad_last:
        ws.append(["Sidste", "Et resumé", "IT", "Idé", "253", "ikke et tal", None, None])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        engine = create_engine(url)
        await upgrade(engine)
        _, writes = session_factories(engine)
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(text("TRUNCATE processes, municipalities CASCADE"))
        async with writes() as session:
            await MunicipalityService(session).create(ADMIN, MunicipalityCreate(code="253", name="Greve"))
            await session.commit()

        async def run(content: bytes, dry_run: bool) -> tuple[ImportReport, float]:
            async with writes() as session:
                started = time.perf_counter()
                report = await import_sheet(Importer(session, ADMIN, "processes"), content, dry_run=dry_run)
                await session.commit()
                return report, time.perf_counter() - started

        good, bad = sheet(args.rows), sheet(args.rows, bad_last=True)
        print(f"{args.rows:,} processes, XLSX of {len(good) / 1024 / 1024:.1f} MB, on {engine.dialect.name}")

        def line(label: str, report: ImportReport, seconds: float) -> None:
            s = report.summary
            counts = f"create {s.create}, update {s.update}, unchanged {s.unchanged}, error {s.error}"
            print(f"  {label:<34} {seconds:7.1f} s  {len(report.rows) / seconds:8,.0f} rows/s  ({counts})")

        tracemalloc.start()
        report, seconds = await run(bad, dry_run=True)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        line("read + plan (a row in error)", report, seconds)
        steps: list[tuple[str, Callable[[], Awaitable[tuple[ImportReport, float]]]]] = [
            ("preview (dry run through services)", lambda: run(good, True)),
            ("import", lambda: run(good, False)),
            ("the same file again", lambda: run(good, False)),
        ]
        for label, step in steps:
            report, seconds = await step()
            line(label, report, seconds)
        rss: Any = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak memory: {peak / 1024 / 1024:.0f} MB Python heap (read + plan), {rss:.0f} MB max resident")
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
