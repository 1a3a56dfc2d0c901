"""Exports at scale: with 30,000 processes, how long `processes.csv`, `processes.xlsx` and `benefits.xlsx` take,
how much memory the server takes for them, and how fast `/api/health` answers while one runs.

A SQLite catalogue of N processes (a third of them adopted by a second municipality) is written straight into a
new data folder; a real `rpabank serve` runs on it (this checkout, or `--src DIR`: another checkout, e.g. one
unpacked with `git archive`, to compare). For each export: its time and size, the server's resident memory
before and at its highest during the export, and /api/health latency (p50/max, polled every 50 ms) meanwhile.

    .venv/bin/python bench/exports.py [--processes 30000] [--port 8650] [--src DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":  # not this folder's `codebank.py` for `codebank`
    del sys.path[0]
sys.path.append(str(ROOT))

EXPORTS = ["/api/export/processes.csv", "/api/export/processes.xlsx", "/api/export/benefits.xlsx"]


async def fill(data_dir: Path, n: int) -> None:
    from sqlalchemy import insert

    from catalogue.models import Adoption, Municipality, Process
    from core.db import create_engine
    from service.db import upgrade

    engine = create_engine(f"sqlite+aiosqlite:///{data_dir}/rpabank.sqlite3")
    await upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Municipality),
            [
                {"code": c, "name": name, "aliases": [], "created_at": now, "updated_at": now}
                for c, name in (("253", "Greve"), ("259", "Køge"))
            ],
        )
        for start in range(0, n, 5000):
            rows = [
                {
                    "id": f"proces-{i}",
                    "title": f"Behandling af sag nummer {i} med en robot",
                    "summary": "Robotten henter oplysninger, registrerer dem og journaliserer sagen.",
                    "description": "## Baggrund\nEn længere beskrivelse af processen. " * 5,
                    "domain": "oekonomi",
                    "phase": "operation",
                    "status": "active",
                    "owner_municipality": "253",
                    "cases_per_year": 1000 + i % 500,
                    "minutes_per_case": Decimal("3.25"),
                    "automation_rate": Decimal("80"),
                    "build_hours": Decimal("120"),
                    "visibility": "network",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(start, min(n, start + 5000))
            ]
            await conn.execute(insert(Process), rows)
            adoptions = [
                {
                    "process_id": r["id"],
                    "municipality_code": "259",
                    "status": "operation",
                    "notes": "=kører fint",
                    "created_at": now,
                    "updated_at": now,
                }
                for k, r in enumerate(rows)
                if k % 3 == 0
            ]
            await conn.execute(insert(Adoption), adoptions)
    await engine.dispose()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(client: Any, pid: int, url: str) -> dict[str, Any]:
    latencies: list[float] = []
    peak = [rss_mb(pid)]
    before = peak[0]
    done = threading.Event()
    result: dict[str, Any] = {}

    def export() -> None:
        started = time.perf_counter()
        size = 0
        with client.stream("GET", url, timeout=900) as r:
            result["status"] = r.status_code
            for chunk in r.iter_bytes():
                size += len(chunk)
                if "first_byte_s" not in result:
                    result["first_byte_s"] = time.perf_counter() - started
        result["seconds"] = time.perf_counter() - started
        result["mb"] = size / 1024 / 1024
        done.set()

    thread = threading.Thread(target=export)
    thread.start()
    while not done.is_set():
        started = time.perf_counter()
        client.get("/api/health", timeout=900)
        latencies.append((time.perf_counter() - started) * 1000)
        peak.append(rss_mb(pid))
        time.sleep(0.05)
    thread.join()
    result["health_p50_ms"] = statistics.median(latencies)
    result["health_max_ms"] = max(latencies)
    result["health_polls"] = len(latencies)
    result["rss_before_mb"] = before
    result["rss_peak_mb"] = max(peak)
    return result


def main() -> None:
    import httpx

    from bench.scale import wait_until_up

    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=30_000)
    parser.add_argument("--port", type=int, default=8650)
    parser.add_argument("--src", type=Path, default=ROOT, help="the checkout whose server is measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        asyncio.run(fill(data_dir, args.processes))
        print(f"{args.processes:,} processes written in {time.perf_counter() - started:.1f} s ({args.src})")
        env = {**os.environ, "RPABANK_DATA_DIR": str(data_dir), "RPABANK_SEARCH": "fts5"}
        env["PYTHONPATH"] = str(args.src)
        server = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(args.port)],
            cwd=args.src,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}") as client:
                wait_until_up(client, server, 600)
                idle = []
                for _ in range(20):
                    t = time.perf_counter()
                    client.get("/api/health")
                    idle.append((time.perf_counter() - t) * 1000)
                print(f"/api/health idle: p50 {statistics.median(idle):.1f} ms")
                print(
                    f"{'export':<28}{'status':>7}{'time s':>9}{'1st byte s':>11}{'MB':>7}"
                    f"{'RSS before':>12}{'RSS peak':>10}{'health p50 ms':>15}{'health max ms':>15}"
                )
                for url in EXPORTS:
                    r = measure(client, server.pid, url)
                    print(
                        f"{url.rsplit('/', 1)[1]:<28}{r['status']:>7}{r['seconds']:>9.1f}"
                        f"{r.get('first_byte_s', float('nan')):>11.1f}{r['mb']:>7.1f}"
                        f"{r['rss_before_mb']:>12.0f}{r['rss_peak_mb']:>10.0f}"
                        f"{r['health_p50_ms']:>15.1f}{r['health_max_ms']:>15.1f}"
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
