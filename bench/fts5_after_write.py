"""A search backend after a write: N generated processes plus M synthetic code files (large vocabulary).

Prints the rebuild time, warm search latency p50/p95 and the time of the first search after a one-document
upsert (median of 5; the query has a typo, so the typo vocabulary is needed). `--src DIR` imports `search`
from another checkout (e.g. the old code unpacked with `git archive`), so before/after run the same bench.

    .venv/bin/python bench/fts5_after_write.py [--processes 10000] [--code 100000] [--src DIR] [--engine postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SYLLABLES = [
    "hent",
    "sag",
    "doc",
    "borger",
    "attest",
    "regning",
    "opus",
    "nexus",
    "kø",
    "robot",
    "fejl",
    "log",
    "post",
    "bruger",
    "konto",
    "cpr",
    "faktura",
    "betal",
    "tjek",
    "send",
    "læs",
    "skriv",
    "data",
    "kilde",
    "mål",
    "rapport",
    "frist",
    "status",
    "journal",
    "tolk",
]


def identifier(rng: random.Random, serial: int) -> str:
    parts = [rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))]
    name = parts[0] + "".join(p.capitalize() for p in parts[1:])
    return f"{name}{serial:x}" if rng.random() < 0.5 else f"{'_'.join(parts)}_{serial:x}"


def code_files(m: int, seed: int = 11) -> Iterator[object]:
    from search.documents import Document

    rng = random.Random(seed)
    serial = 0
    for i in range(m):
        lines = []
        for _ in range(rng.randint(5, 15)):
            serial += 1
            fn = identifier(rng, serial)
            args = ", ".join(identifier(rng, serial * 7 + k) for k in range(rng.randint(1, 3)))
            lines.append(f"def {fn}({args}):")
            lines.append(f"    return {identifier(rng, serial * 13)}({args})  # {rng.choice(SYLLABLES)}")
        yield Document(
            type="code",
            id=f"bot-{i % 500}/src/file_{i}.py",
            title=f"src/file_{i}.py",
            url=f"/bots/bot-{i % 500}/code/src/file_{i}.py",
            body="\n".join(lines),
            meta=f"bot-{i % 500}",
            facets={"technology": ["Python"], "municipality": [str(250 + i % 20)]},
        )


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=10_000)
    parser.add_argument("--code", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--src", type=Path, default=ROOT, help="the checkout whose `search` package is measured")
    parser.add_argument("--engine", choices=["fts5", "postgres"], default="fts5")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(args.src.resolve()))

    import search
    from bench.catalogue_gen import QUERIES, processes
    from search.backends.fts5 import Fts5Backend
    from search.documents import Document, SearchQuery, Viewer

    print(f"code under test: {Path(search.__file__).parent.parent}, engine {args.engine}")
    backend: Any
    if args.engine == "postgres":
        from search.backends.postgres import PostgresBackend

        backend = PostgresBackend(args.pg_url, schema=f"rpabank_after_write_{os.getpid()}")
    else:
        backend = Fts5Backend(Path(tempfile.mkdtemp(prefix="rpabank-fts5-bench-")) / "search")
    started = time.perf_counter()
    count = backend.rebuild(chain(processes(args.processes), code_files(args.code)))
    print(f"rebuild: {count} documents in {time.perf_counter() - started:.1f} s")

    def timed(text: str) -> float:
        t = time.perf_counter()
        backend.search(SearchQuery(text=text, viewer=Viewer(), limit=20))
        return (time.perf_counter() - t) * 1000

    first = timed("tolkeregnig")
    print(f"first search in the process (loads the snapshot): {first:.0f} ms")
    for q in QUERIES:
        timed(q)
    warm = [timed(q) for _ in range(args.rounds) for q in QUERIES]
    print(f"warm search ms ({len(warm)} queries): p50 {percentile(warm, 50):.2f}  p95 {percentile(warm, 95):.2f}")

    same = statistics.median(timed("tolkeregnig") for _ in range(5))
    print(f"the same query warm (no write before it) ms: median {same:.1f}")
    after: list[float] = []
    writes: list[float] = []
    for i in range(5):
        doc = Document(
            type="process",
            id="proces-1",
            title=f"Betaling af tolkeregninger runde {i}",
            url="/processes/proces-1",
            summary=f"Ny tekst {i} med ordet skrivefejlsord{i}",
            facets={"domain": ["oekonomi"], "municipality": ["253"]},
        )
        t = time.perf_counter()
        backend.upsert([doc])
        writes.append((time.perf_counter() - t) * 1000)
        after.append(timed("tolkeregnig"))  # a typo: needs the vocabulary
    print(f"one-document upsert ms: median {statistics.median(writes):.1f}")
    print(
        f"first search after a one-document upsert ms: median {statistics.median(after):.1f} "
        f"(all: {', '.join(f'{x:.0f}' for x in after)})"
    )
    if args.engine == "postgres":
        with backend.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{backend.sql.schema}" CASCADE')
    backend.close()


if __name__ == "__main__":
    main()
