"""FTS5 and PostgreSQL side by side on N generated Danish processes (default 10,000).

For each backend, in a process of its own (so the resident memory is its own): rebuild time, bare backend
search p50/p95 over the mixed benchmark queries, write→searchable delay (one upsert until a search finds
it), the first search after a one-document write (FTS5 reloads its in-memory snapshot then), and RSS.
PostgreSQL runs in a schema `rpabank_bench_<hex>` that is dropped afterwards.

    .venv/bin/python bench/search_backends.py [--processes 10000] [--rounds 10] [--pg-url postgresql://…]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.catalogue_gen import QUERIES, processes  # noqa: E402
from search.backends.base import SearchBackend  # noqa: E402
from search.documents import Document, SearchQuery, Viewer  # noqa: E402

DEFAULT_PG = os.environ.get("RPABANK_BENCH_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ms(seconds: float) -> float:
    return seconds * 1000


def measure(engine: str, n: int, rounds: int, pg_url: str) -> dict[str, Any]:
    """Every figure for one backend (run in its own process)."""
    schema = f"rpabank_bench_{uuid.uuid4().hex[:8]}"
    backend: SearchBackend
    if engine == "fts5":
        from search.backends.fts5 import Fts5Backend

        backend = Fts5Backend(Path(tempfile.mkdtemp(prefix="rpabank-bench-")) / "search")
    else:
        from search.backends.postgres import PostgresBackend

        backend = PostgresBackend(pg_url, schema=schema)
    try:
        out: dict[str, Any] = {"engine": backend.name}
        started = time.perf_counter()
        out["rebuild_s"] = backend.rebuild(processes(n)) and time.perf_counter() - started  # streamed
        viewer = Viewer()
        for q in QUERIES:  # warm-up
            backend.search(SearchQuery(text=q, viewer=viewer))
        samples = []
        for _ in range(rounds):
            for q in QUERIES:
                t = time.perf_counter()
                backend.search(SearchQuery(text=q, viewer=viewer))
                samples.append(ms(time.perf_counter() - t))
        qs = statistics.quantiles(samples, n=100, method="inclusive")
        out["search_p50_ms"], out["search_p95_ms"] = qs[49], qs[94]
        out["rss_mb"] = rss_mb()

        delays, firsts = [], []
        for i in range(5):
            word = f"zebrakvist{i}{'abcde'[i]}"
            doc = Document(type="process", id=f"bench-{i}", title=f"Proces om {word}", url=f"/p/bench-{i}")
            t = time.perf_counter()
            backend.upsert([doc])
            while not backend.search(SearchQuery(text=word, viewer=viewer)).hits:
                pass
            delays.append(ms(time.perf_counter() - t))
            backend.upsert([Document(type="process", id=f"bench-x{i}", title="Endnu en proces", url="/p/x")])
            t = time.perf_counter()
            backend.search(SearchQuery(text="attest", viewer=viewer))
            firsts.append(ms(time.perf_counter() - t))
        out["write_to_searchable_ms"] = statistics.median(delays)
        out["first_search_after_write_ms"] = statistics.median(firsts)
        out["rss_mb_end"] = rss_mb()
        return out
    finally:
        engine_of = getattr(backend, "engine", None)
        if engine_of is not None:  # PostgreSQL: drop the bench's schema
            with engine_of.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        backend.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--engine", choices=["fts5", "postgres"], help=argparse.SUPPRESS)  # the child run
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(measure(args.engine, args.processes, args.rounds, args.pg_url)))
        return

    results = []
    for engine in ("fts5", "postgres"):
        run = subprocess.run(
            [
                sys.executable,
                __file__,
                "--engine",
                engine,
                "--processes",
                str(args.processes),
                "--rounds",
                str(args.rounds),
                "--pg-url",
                args.pg_url,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode:
            print(f"{engine}: failed\n{run.stderr}", file=sys.stderr)
            continue
        results.append(json.loads(run.stdout.strip().splitlines()[-1]))
    print(f"{args.processes:,} processes, {len(QUERIES)} mixed queries × {args.rounds} rounds, bare backend")
    rows = [
        ("rebuild", "rebuild_s", "s"),
        ("search p50", "search_p50_ms", "ms"),
        ("search p95", "search_p95_ms", "ms"),
        ("write → searchable", "write_to_searchable_ms", "ms"),
        ("first search after a write", "first_search_after_write_ms", "ms"),
        ("RSS after searches", "rss_mb", "MB"),
        ("RSS at the end", "rss_mb_end", "MB"),
    ]
    print(f"{'':28}" + "".join(f"{r['engine']:>14}" for r in results))
    for label, key, unit in rows:
        print(f"{label + ' (' + unit + ')':28}" + "".join(f"{r[key]:>14.2f}" for r in results))


if __name__ == "__main__":
    main()
