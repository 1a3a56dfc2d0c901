"""The likely-duplicates search (`/api/processes/similar`, the duplicate warning of POST /api/processes) on the bare
backends at two catalogue sizes: what one candidate search costs, FTS5 and PostgreSQL, p50 over generated processes'
own title and summary (each one's duplicate is in the index).

    .venv/bin/python bench/similar_search.py build --processes 10000 --dir /tmp/x   # once per size
    .venv/bin/python bench/similar_search.py time --dir /tmp/x [--before DIR]       # this tree (and another)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.environ.get("RPABANK_TREE") or str(Path(__file__).resolve().parent.parent))

DEFAULT_PG = os.environ.get("RPABANK_BENCH_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"
CANDIDATES = 30  # as service.reuse
QUERIES = 60


def _backend(engine: str, directory: Path, pg_url: str) -> Any:
    if engine == "fts5":
        from search.backends.fts5 import Fts5Backend

        return Fts5Backend(directory / "fts5")
    from search.backends.postgres import PostgresBackend

    return PostgresBackend(pg_url, schema=f"similar_{directory.name}")


def build(n: int, directory: Path, pg_url: str) -> None:
    from bench.catalogue_gen import processes

    directory.mkdir(parents=True, exist_ok=True)
    for engine in ("fts5", "postgres"):
        backend = _backend(engine, directory, pg_url)
        started = time.perf_counter()
        backend.rebuild(processes(n))
        print(engine, n, f"{time.perf_counter() - started:.0f} s", flush=True)
        backend.close()
    (directory / "n").write_text(str(n))


def measure(engine: str, directory: Path, pg_url: str, rounds: int) -> dict[str, Any]:
    from catalogue.reuse import similarity
    from search.documents import SearchQuery

    def similar_query(title: str, summary: str) -> SearchQuery:
        """The duplicate search of this tree (a tree from before `similar_query`: every word of both)."""
        try:
            from service.reuse import similar_query as made
        except ImportError:
            return SearchQuery(text=f"{title} {summary}".strip()[:2000], filters={"type": "process"}, limit=30)
        return made(title, summary)

    from bench.catalogue_gen import processes

    n = int((directory / "n").read_text())
    step = max(n // QUERIES, 1)
    texts: dict[str, tuple[str, str]] = {}
    docs: list[Any] = []
    for i, d in enumerate(processes(n)):
        texts[d.id] = (d.title, d.summary)
        if i % step == 0 and len(docs) < QUERIES:
            docs.append(d)
    backend = _backend(engine, directory, pg_url)
    found = 0
    scores: list[float] = []
    times: list[float] = []
    for r in range(rounds + 1):
        for d in docs:
            query = similar_query(d.title, d.summary)
            started = time.perf_counter()
            result = backend.search(query)
            if r:  # the first round warms up
                times.append(time.perf_counter() - started)
                found += any(h.id == d.id for h in result.hits)
                alike = sorted((similarity(d.title, d.summary, *texts[h.id]) for h in result.hits), reverse=True)
                scores.append(statistics.mean(alike[:10]) if alike else 0.0)
    backend.close()
    return {
        "p50_ms": round(statistics.median(times) * 1000, 2),
        "found": round(found / len(times), 3),
        "alike": round(statistics.mean(scores), 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("mode", choices=("build", "time", "one"))
    p.add_argument("--dir", type=Path, action="append", required=True)
    p.add_argument("--processes", type=int, default=10_000)
    p.add_argument("--before", type=Path, help="another tree to time beside this one")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--engine", default="fts5")
    p.add_argument("--pg-url", default=DEFAULT_PG)
    a = p.parse_args()
    if a.mode == "build":
        build(a.processes, a.dir[0], a.pg_url)
    elif a.mode == "one":
        print(json.dumps(measure(a.engine, a.dir[0], a.pg_url, a.rounds)))
    else:
        here = str(Path(__file__).resolve().parent.parent)
        trees = [("before", str(a.before))] if a.before else []
        trees.append(("after", here))
        print(
            f"{'engine':9} {'size':>7} "
            + " ".join(f"{name + ' p50 ms':>15} {'found':>6} {'alike':>6}" for name, _ in trees)
        )
        for engine in ("fts5", "postgres"):
            for d in a.dir:
                cells = []
                for _, tree in trees:
                    out = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "one",
                            "--dir",
                            str(d),
                            "--engine",
                            engine,
                            "--rounds",
                            str(a.rounds),
                            "--pg-url",
                            a.pg_url,
                        ],
                        env={**os.environ, "RPABANK_TREE": tree, "PYTHONPATH": tree},
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                    got = json.loads(out.strip().splitlines()[-1])
                    cells.append(f"{got['p50_ms']:>15} {got['found']:>6} {got['alike']:>6}")
                print(f"{engine:9} {(d / 'n').read_text():>7} " + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
