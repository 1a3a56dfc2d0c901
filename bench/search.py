"""Search benchmark over HTTP: N generated Danish processes (default 10,000) in FTS5 or the PostgreSQL search.

Prints indexing throughput, then search latency p50/p95/p99 over HTTP (a real `rpabank serve` process)
next to the bare backend query time for the same queries, and their ratio (the service's own overhead).
Run it once per engine in the same session to set them side by side:

    .venv/bin/python bench/search.py [--processes 10000] [--rounds 20] [--engine fts5|postgres] [--pg-url URL]

With `--engine postgres` a fresh database `rpabank_bench_<hex>` is made on the server of `--pg-url` (default
the local test server) and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.catalogue_gen import QUERIES, processes  # noqa: E402
from bench.scale import wait_until_up  # noqa: E402
from search.backends.base import SearchBackend  # noqa: E402
from search.backends.fts5 import Fts5Backend  # noqa: E402
from search.documents import SearchQuery, Viewer  # noqa: E402

DEFAULT_PG = os.environ.get("RPABANK_BENCH_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"


def _pg_admin(url: str, sql: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
        autocommit=True,
    ) as conn:
        conn.execute(sql)


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    qs = statistics.quantiles(samples, n=100, method="inclusive")
    return qs[49], qs[94], qs[98]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--engine", choices=["fts5", "postgres"], default="fts5")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="rpabank-bench-"))
    docs = list(processes(args.processes))
    database_url = ""
    backend: SearchBackend
    if args.engine == "postgres":
        from sqlalchemy.engine import make_url

        from search.backends.postgres import PostgresBackend

        name = f"rpabank_bench_{os.getpid()}_{int(time.time())}"
        _pg_admin(args.pg_url, f'CREATE DATABASE "{name}"')
        database_url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
        backend = PostgresBackend(database_url)
    else:
        backend = Fts5Backend(data / "search")
    print(f"engine: {backend.name}, {args.processes:,} processes")
    started = time.perf_counter()
    backend.rebuild(docs)
    took = time.perf_counter() - started
    print(f"indexing: {len(docs)} documents in {took:.2f} s = {len(docs) / took:,.0f} documents/s")

    started = time.perf_counter()
    backend.upsert(docs[:200])
    took = time.perf_counter() - started
    print(f"incremental upsert: 200 documents in {took:.3f} s = {200 / took:,.0f} documents/s")

    # bare backend
    bare: list[float] = []
    for q in QUERIES:  # warm-up (vocabulary cache, page cache)
        backend.search(SearchQuery(text=q, viewer=Viewer(), limit=20))
    for _ in range(args.rounds):
        for q in QUERIES:
            t = time.perf_counter()
            backend.search(SearchQuery(text=q, viewer=Viewer(), limit=20))
            bare.append((time.perf_counter() - t) * 1000)
    backend.close()

    # over HTTP: the real server on the same data folder (the catalogue database itself is empty)
    port = free_port()
    env = {**os.environ, "RPABANK_DATA_DIR": str(data), "RPABANK_DATABASE_URL": database_url}
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    http: list[float] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            wait_until_up(client, server)
            for q in QUERIES:
                client.get(f"/api/search?q={quote(q)}")
            for _ in range(args.rounds):
                for q in QUERIES:
                    t = time.perf_counter()
                    r = client.get(f"/api/search?q={quote(q)}")
                    http.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, r.text
    finally:
        server.terminate()
        server.wait(timeout=30)
        if database_url:
            _pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{database_url.rsplit("/", 1)[1]}" WITH (FORCE)')

    b50, b95, b99 = percentiles(bare)
    h50, h95, h99 = percentiles(http)
    print(f"queries: {len(QUERIES)} mixed queries × {args.rounds} rounds = {len(http)} requests")
    print(f"bare backend  ms: p50 {b50:6.2f}  p95 {b95:6.2f}  p99 {b99:6.2f}")
    print(f"over HTTP     ms: p50 {h50:6.2f}  p95 {h95:6.2f}  p99 {h99:6.2f}")
    print(f"service overhead (HTTP / bare): p50 {h50 / b50:.2f}×  p95 {h95 / b95:.2f}×")


if __name__ == "__main__":
    main()
