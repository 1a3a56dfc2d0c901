"""`rpabank serve` with one worker and with several, side by side in one run (and an older checkout the same way).

A SQLite catalogue of N generated processes is written into a new data folder and indexed once (FTS5); then a
real `rpabank serve --workers W` runs on it for each checkout and each W, one after the other, and is measured:

- small answers over one keep-alive connection (as a proxy or a browser holds it): `/api/health/live`,
  `/api/health` and `GET /api/processes/{id}`, p50/p95 of R requests each (after a warm-up);
- a search (`/api/search?q=...`, words of the generated catalogue), p50/p95;
- throughput: C clients (threads, one keep-alive connection each, made after the warm-up) asking for
  `GET /api/processes/{id}` for T seconds; requests per second and p50/p95;
- memory after that: the resident set (RSS) and the proportional set (PSS: shared pages split between the
  processes sharing them) of the server and every process under it (supervisor, workers, helpers).

    .venv/bin/python bench/workers.py [--src DIR] [--workers 1,2] [--processes 3000] [--clients 8]
                                      [--seconds 10] [--requests 200] [--port 8721]

`--src DIR` measures that checkout (e.g. /work/before, unpacked with `git archive`) too, before this one. The
machine may be busy: compare the columns of one run, not runs made at different times.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":  # not this folder's `search.py` for `search`
    del sys.path[0]
sys.path.append(str(ROOT))

from bench.exports import fill  # noqa: E402
from bench.scale import percentile, rss_mb, wait_until_up  # noqa: E402

SEARCHES = ["robot", "behandling af sag", "journaliserer", "robotten henter oplysninger"]


def tree(pid: int) -> list[int]:
    """`pid` and every process under it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def pss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def get(conn: http.client.HTTPConnection, path: str) -> float:
    """GET `path` on this connection; how long the answer took (ms)."""
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"{path}: the server answered {response.status}")
    return (time.perf_counter() - started) * 1000


def latencies(port: int, paths: list[str], requests: int) -> tuple[float, float]:
    """p50/p95 (ms) of `requests` requests cycling through `paths`, on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for path in paths:
            get(conn, path)
        samples = [get(conn, paths[i % len(paths)]) for i in range(requests)]
        return percentile(samples, 50), percentile(samples, 95)
    finally:
        conn.close()


def throughput(port: int, paths: list[str], clients: int, seconds: float) -> dict[str, float]:
    """C clients asking as fast as they are answered for `seconds`: requests per second, p50/p95 (ms)."""
    samples: list[list[float]] = [[] for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    stop = threading.Event()

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        get(conn, paths[0])
        start.wait()
        i = n
        while not stop.is_set():
            samples[n].append(get(conn, paths[i % len(paths)]))
            i += clients
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    took = time.perf_counter() - began
    every = [s for per in samples for s in per]
    return {
        "rps": len(every) / took,
        "load_p50_ms": percentile(every, 50),
        "load_p95_ms": percentile(every, 95),
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(src: Path, data_dir: Path, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    env = {**os.environ, "RPABANK_DATA_DIR": str(data_dir), "RPABANK_SEARCH": "fts5", "PYTHONPATH": str(src)}
    env.pop("RPABANK_DATABASE_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(args.port), "--workers", str(workers)],
        cwd=src,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=60) as client:
            wait_until_up(client, server)
        # every worker started (the supervisor spawns them; each answers once its app is up)
        deadline = time.monotonic() + 120
        while len(tree(server.pid)) < workers + (1 if workers > 1 else 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(8 * workers):  # new connections: every worker answers and loads its search snapshot
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=60) as client:
                client.get("/api/search", params={"q": SEARCHES[0]})
                client.get("/api/processes/proces-1")
        ids = [f"/api/processes/proces-{i}" for i in range(0, args.processes, max(1, args.processes // 50))]
        out["live"] = latencies(args.port, ["/api/health/live"], args.requests)
        out["health"] = latencies(args.port, ["/api/health"], args.requests)
        out["process"] = latencies(args.port, ids, args.requests)
        out["search"] = latencies(args.port, [f"/api/search?q={q.replace(' ', '+')}" for q in SEARCHES], args.requests)
        pids = tree(server.pid)
        cpu_before = {p: cpu_seconds(p) for p in pids}
        out.update(throughput(args.port, ids, args.clients, args.seconds))
        busy = sorted((cpu_seconds(p) - cpu_before[p] for p in pids), reverse=True)
        out["busy_cpu_s"] = busy[: max(1, workers)]
        pids = tree(server.pid)
        out["processes"] = len(pids)
        out["rss_mb"] = sum(rss_mb(p) for p in pids)
        out["pss_mb"] = sum(pss_mb(p) for p in pids)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return out


ROWS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("/api/health/live p50 / p95 ms", lambda r: "{:.1f} / {:.1f}".format(*r["live"])),
    ("/api/health p50 / p95 ms", lambda r: "{:.1f} / {:.1f}".format(*r["health"])),
    ("GET /api/processes/{id} p50 / p95 ms", lambda r: "{:.1f} / {:.1f}".format(*r["process"])),
    ("search p50 / p95 ms", lambda r: "{:.1f} / {:.1f}".format(*r["search"])),
    ("throughput (requests/s)", lambda r: f"{r['rps']:.0f}"),
    ("  under load p50 / p95 ms", lambda r: f"{r['load_p50_ms']:.1f} / {r['load_p95_ms']:.1f}"),
    ("  CPU s of the busiest processes", lambda r: " + ".join(f"{s:.1f}" for s in r["busy_cpu_s"])),
    ("processes", lambda r: str(r["processes"])),
    ("RSS, all processes (MB)", lambda r: f"{r['rss_mb']:.0f}"),
    ("PSS, all processes (MB)", lambda r: f"{r['pss_mb']:.0f}"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--src", type=Path, help="an older checkout, measured the same way before this one")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--processes", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--port", type=int, default=8721)
    args = parser.parse_args()
    codes = ([("before", args.src.resolve())] if args.src else []) + [("after", ROOT)]
    counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="rpabank-bench-workers-") as tmp:
        data_dir = Path(tmp)
        asyncio.run(fill(data_dir, args.processes))
        subprocess.run(
            [sys.executable, "-m", "service.cli", "reindex"],
            cwd=ROOT,
            env={**os.environ, "RPABANK_DATA_DIR": str(data_dir), "RPABANK_SEARCH": "fts5", "PYTHONPATH": str(ROOT)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        columns: list[tuple[str, dict[str, Any]]] = []
        for label, src in codes:
            for workers in counts:
                result = measure(src, data_dir, workers, args)
                columns.append((f"{label}, {workers} worker{'s' if workers > 1 else ''}", result))
                print(f"{columns[-1][0]}: {result}", file=sys.stderr)
    print(
        f"{args.processes} processes (SQLite, FTS5); {args.requests} requests per small-answer row on one keep-alive "
        f"connection; throughput: {args.clients} clients × {args.seconds:g} s; {os.cpu_count()} CPUs"
    )
    width = max(20, *(len(label) + 2 for label, _ in columns))
    print(f"{'':38}" + "".join(f"{label:>{width}}" for label, _ in columns))
    for title, cell in ROWS:
        print(f"{title:38}" + "".join(f"{cell(r):>{width}}" for _, r in columns))
    if len(counts) > 1:
        print("\nratio most / fewest workers (RSS, PSS, throughput):")
        for label, _ in codes:
            by = {c: r for (lab, r) in columns for c in counts if lab.startswith(f"{label}, {c} ")}
            few, most = by[counts[0]], by[counts[-1]]
            print(
                f"  {label}: RSS {most['rss_mb'] / few['rss_mb']:.2f}×, PSS {most['pss_mb'] / few['pss_mb']:.2f}×, "
                f"throughput {most['rps'] / few['rps']:.2f}×"
            )


if __name__ == "__main__":
    main()
