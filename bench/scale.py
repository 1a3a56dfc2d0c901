"""Search at scale, side by side in one run: FTS5 and PostgreSQL, at 10,000 and 100,000 generated processes.

For every catalogue size and engine the index is built once (rebuild time, peak RSS of the building process),
then the code under test is measured on it, each in a process of its own (this checkout, and with `--before
DIR` an older checkout, e.g. unpacked with `git archive`, which builds and measures an index of its own, since
the index formats of two versions may differ):

- bare backend: search p50/p95 over the query mix (benchmark queries plus facet-filtered ones);
- over HTTP (a real `rpabank serve` on this size's index): search p50/p95, RSS of the server;
- a one-document write (through the backend, as another instance would write): the delay until the server
  finds it, and the server's first search after a write against the same search warm (median of 5 each).

    .venv/bin/python bench/scale.py [--sizes 10000,100000] [--engines fts5,postgres] [--rounds 5]
                                    [--before DIR] [--pg-url postgresql://…] [--port 8610] [--code M]

With `--code M` the index also holds M synthetic code files (slow to build at 100,000: about as long as the
processes). PostgreSQL runs in a database `rpabank_bench_<pid>_<size>` made and dropped by the run; where the
code reads a process's summary and body from its row (`catalogue.search_documents.EXTERNAL_BODIES`), the same
processes are written into the catalogue's tables first. The
machine may be busy: compare the columns of one run (ratios), not runs made at different times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":  # not this folder's `search.py` for `search`
    del sys.path[0]
sys.path.append(str(ROOT))  # after PYTHONPATH: a child run imports the code under test first
DEFAULT_PG = os.environ.get("RPABANK_BENCH_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"
# facet filters in the mix: a common word in one domain, browsing one municipality, a word and a system
FILTERED = [
    ("robot", {"domain": "oekonomi"}),
    ("", {"municipality": "253"}),
    ("attest", {"system": "eDoc"}),
    ("tolk", {"technology": "Python", "domain": "social"}),
]


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pg_admin(url: str, sql: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    with psycopg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database, autocommit=True
    ) as conn:
        conn.execute(sql)


def documents(n: int, code: int) -> Iterator[Any]:
    from bench.catalogue_gen import processes
    from bench.fts5_after_write import code_files

    return chain(processes(n), code_files(code))


def open_backend(engine: str, where: str) -> Any:
    if engine == "fts5":
        from search.backends.fts5 import Fts5Backend

        return Fts5Backend(Path(where) / "search")
    from search.backends.postgres import PostgresBackend

    external = external_bodies()
    return PostgresBackend(where) if external is None else PostgresBackend(where, external=external)


def external_bodies() -> Any:
    """The types whose summary and body PostgreSQL reads from the catalogue's rows, as the app opens it (None: the
    code under test keeps every body in the index)."""
    try:
        from catalogue.search_documents import EXTERNAL_BODIES
    except ImportError:
        return None
    return EXTERNAL_BODIES


def queries() -> list[tuple[str, dict[str, str]]]:
    from bench.catalogue_gen import QUERIES

    return [(q, {}) for q in QUERIES] + FILTERED


def wait_until_up(client: Any, server: subprocess.Popen[bytes], seconds: float = 120) -> None:
    """Wait until a started `rpabank serve` answers its health check (an `httpx.Client` on its address)."""
    import httpx

    deadline = time.monotonic() + seconds
    while True:
        try:
            if client.get("/api/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("the server did not start")
        time.sleep(0.2)


# ---------------------------------------------------------------- the child runs


def build(engine: str, where: str, n: int, code: int) -> dict[str, Any]:
    if engine == "postgres" and external_bodies() is not None:  # the processes' rows hold their texts
        import asyncio

        from bench.indexing import fill

        asyncio.run(fill(where, n))
    backend = open_backend(engine, where)
    started = time.perf_counter()
    count = backend.rebuild(documents(n, code))
    took = time.perf_counter() - started
    backend.close()
    return {"documents": count, "rebuild_s": took, "rebuild_peak_rss_mb": rss_mb(field="VmHWM")}


def measure(engine: str, where: str, rounds: int, port: int) -> dict[str, Any]:
    import httpx

    from search.documents import Document, SearchQuery, Viewer

    out: dict[str, Any] = {}
    backend = open_backend(engine, where)
    mix = queries()

    def bare(text: str, filters: dict[str, str]) -> float:
        t = time.perf_counter()
        backend.search(SearchQuery(text=text, filters=filters, viewer=Viewer()))
        return (time.perf_counter() - t) * 1000

    for q, f in mix:
        bare(q, f)
    samples = [bare(q, f) for _ in range(rounds) for q, f in mix]
    out["bare_p50_ms"], out["bare_p95_ms"] = percentile(samples, 50), percentile(samples, 95)
    out["bare_rss_mb"] = rss_mb()

    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    if engine == "fts5":
        env.update(RPABANK_DATA_DIR=where, RPABANK_DATABASE_URL="")
    else:
        env.update(RPABANK_DATA_DIR=tempfile.mkdtemp(prefix="rpabank-bench-"), RPABANK_DATABASE_URL=where)
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=env,
        cwd=env["PYTHONPATH"].split(os.pathsep)[0] or ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_until_up(client, server)

            def http(text: str, filters: dict[str, str]) -> tuple[float, dict[str, Any]]:
                t = time.perf_counter()
                r = client.get("/api/search?" + urlencode({"q": text, **filters}))
                took = (time.perf_counter() - t) * 1000
                assert r.status_code == 200, r.text
                return took, r.json()

            for q, f in mix:
                http(q, f)
            samples = [http(q, f)[0] for _ in range(rounds) for q, f in mix]
            out["http_p50_ms"], out["http_p95_ms"] = percentile(samples, 50), percentile(samples, 95)
            out["server_rss_mb"] = rss_mb(server.pid)

            delays, firsts, warms = [], [], []
            for i in range(5):
                word = f"zebrakvist{i}{'abcde'[i]}"
                doc = Document(type="process", id=f"bench-{i}", title=f"Proces om {word}", url=f"/p/bench-{i}")
                t = time.perf_counter()
                backend.upsert([doc])
                while not http(word, {})[1]["hits"]:
                    pass
                delays.append((time.perf_counter() - t) * 1000)
                warms.append(statistics.median(http("tolkeregnig", {})[0] for _ in range(3)))
                backend.upsert([Document(type="process", id=f"bench-x{i}", title=f"Endnu en {i}", url="/p/x")])
                firsts.append(http("tolkeregnig", {})[0])  # a typo: the vocabulary is needed
            out["write_to_searchable_ms"] = statistics.median(delays)
            out["first_after_write_ms"] = statistics.median(firsts)
            out["warm_same_query_ms"] = statistics.median(warms)
            out["server_rss_end_mb"] = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
        backend.close()
    return out


# ---------------------------------------------------------------- the run


def child(src: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    run = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False, cwd=src
    )
    if run.returncode:
        print(f"failed: {' '.join(args)}\n{run.stderr[-3000:]}", file=sys.stderr)
        return {}
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


ROWS = [
    ("rebuild (s)", "rebuild_s"),
    ("rebuild peak RSS (MB)", "rebuild_peak_rss_mb"),
    ("bare search p50 (ms)", "bare_p50_ms"),
    ("bare search p95 (ms)", "bare_p95_ms"),
    ("HTTP search p50 (ms)", "http_p50_ms"),
    ("HTTP search p95 (ms)", "http_p95_ms"),
    ("write → searchable (ms)", "write_to_searchable_ms"),
    ("first search after write (ms)", "first_after_write_ms"),
    ("same search warm (ms)", "warm_same_query_ms"),
    ("server RSS (MB)", "server_rss_end_mb"),
    ("bench process RSS (MB)", "bare_rss_mb"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--engines", default="fts5,postgres")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--code", type=int, default=0)
    parser.add_argument("--before", type=Path, help="an older checkout, measured the same way on its own index")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--port", type=int, default=8610)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, engine, where, *rest = args.child
        if what == "build":
            print(json.dumps(build(engine, where, int(rest[0]), int(rest[1]))))
        else:
            print(json.dumps(measure(engine, where, int(rest[0]), int(rest[1]))))
        return

    from sqlalchemy.engine import make_url

    sizes = [int(s) for s in args.sizes.split(",")]
    codes = [("after", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    columns: list[tuple[str, dict[str, Any]]] = []
    for engine in args.engines.split(","):
        for n in sizes:
            for label, src in codes:  # each code builds its own index: their index formats may differ
                if engine == "fts5":
                    where = tempfile.mkdtemp(prefix=f"rpabank-bench-{n}-")
                else:
                    name = f"rpabank_bench_{os.getpid()}_{n}_{label}"
                    pg_admin(args.pg_url, f'CREATE DATABASE "{name}"')
                    where = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
                try:
                    built = child(src, "--child", "build", engine, where, str(n), str(args.code))
                    measured = child(src, "--child", "measure", engine, where, str(args.rounds), str(args.port))
                    columns.append((f"{engine} {n // 1000}k {label}", {**built, **measured}))
                    print(f"{columns[-1][0]}: {json.dumps(columns[-1][1])}", file=sys.stderr)
                finally:
                    if engine == "postgres":
                        pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{where.rsplit("/", 1)[1]}" WITH (FORCE)')
                    else:
                        shutil.rmtree(where, ignore_errors=True)
    print(
        f"{len(queries())} queries ({len(FILTERED)} with facet filters) × {args.rounds} rounds; code files: {args.code}"
    )
    print(f"{'':32}" + "".join(f"{label:>20}" for label, _ in columns))
    for title, key in ROWS:
        cells = "".join(f"{c[key]:>20.1f}" if key in c else f"{'-':>20}" for _, c in columns)
        print(f"{title:32}{cells}")
    if len(sizes) == 2:  # the ratios largest / smallest size, per engine and code
        print(f"\nratio {sizes[1] // 1000}k / {sizes[0] // 1000}k")
        by = dict(columns)
        for title, key in ROWS[2:8]:
            ratios: list[str] = []
            for engine in args.engines.split(","):
                for label, _ in codes:
                    small = by.get(f"{engine} {sizes[0] // 1000}k {label}", {}).get(key)
                    large = by.get(f"{engine} {sizes[1] // 1000}k {label}", {}).get(key)
                    ratio = f"{large / small:.2f}×" if small and large else "-"
                    ratios.append(f"{engine + ' ' + label + ' ' + ratio:>26}")
            print(f"{title:32}{''.join(ratios)}")


if __name__ == "__main__":
    main()
