"""The code bank's queue drained inside a started app, its start-up heap settled (`rpabank serve`) or not.

Each run is a process of its own that starts the app as `rpabank serve` does (`create_app(..., long_lived=True)`,
which settles the heap once started: `service.app.settle_heap`) or as a test does (`long_lived=False`), registers
R generated repositories of F files each through the app's own services, and drains the queue with the app's
indexer (FTS5 in its data folder). It prints files/s by the clock and per CPU second of the process, the full
collections the drain set off, and what one full collection costs in that process before the drain. The two kinds
of run take turns, `--rounds` times each; each figure is the median.

    .venv/bin/python bench/settled_heap.py [--repos 20] [--files 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":  # not this folder's `search.py` for `search`
    del sys.path[0]
sys.path.insert(0, str(ROOT))


async def drain_in_app(settled: bool, repos: int, files: int) -> dict[str, Any]:
    from litestar.testing import AsyncTestClient

    from bench.codebank import ADMIN, make_repo
    from codebank.schemas import BotCreate
    from codebank.services import BotService
    from service.app import create_app
    from service.settings import Settings

    root = Path(tempfile.mkdtemp(prefix="rpabank-settled-"))
    for r in range(repos):
        make_repo(root / "src" / f"robot-{r}", files, r)
    settings = Settings(
        data_dir=root / "data", allow_local_repos=True, sync_interval_minutes=0, index_retry_seconds=3600
    )
    app = create_app(settings, long_lived=settled)
    async with AsyncTestClient(app=app):
        objects = len(gc.get_objects())
        started = time.perf_counter()
        gc.collect()  # (what one full collection walks now; the settled heap is out of its reach)
        full_ms = (time.perf_counter() - started) * 1000
        indexer = app.state.indexer
        await indexer.drain()
        for r in range(repos):  # registered (mirrored, the files queued); the app would drain at once: not yet
            async with app.state.write_sessions() as session:
                await BotService(session, settings.codebank()).register(
                    ADMIN, BotCreate(url=str(root / "src" / f"robot-{r}"))
                )
                await session.commit()
        collections = [0]

        def count(phase: str, info: dict[str, int]) -> None:
            collections[0] += phase == "stop" and info["generation"] == 2

        gc.callbacks.append(count)
        wall, cpu = time.perf_counter(), time.process_time()
        done = await indexer.drain()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        gc.callbacks.remove(count)
    subprocess.run(["rm", "-rf", str(root)], check=False)
    return {
        "files": done,
        "files_per_s": done / wall,
        "files_per_cpu_s": done / cpu,
        "full_collections": collections[0],
        "tracked_objects": objects,
        "full_collection_ms": full_ms,
    }


ROWS = (  # (key, what, format)
    ("files_per_s", "queue drained, files/s by the clock", "{:,.0f}"),
    ("files_per_cpu_s", "queue drained, files per CPU second", "{:,.0f}"),
    ("full_collections", "full collections during the drain", "{:.0f}"),
    ("tracked_objects", "objects the collector tracks once started", "{:,.0f}"),
    ("full_collection_ms", "one full collection then, ms", "{:.1f}"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for flag, default in (("--repos", 20), ("--files", 200), ("--rounds", 3)):
        parser.add_argument(flag, type=int, default=default)
    parser.add_argument("--child", choices=["settled", "not"])
    args = parser.parse_args()
    if args.child:
        result = asyncio.run(drain_in_app(args.child == "settled", args.repos, args.files))
        print(json.dumps(result))
        return
    runs: dict[str, list[dict[str, Any]]] = {"not": [], "settled": []}
    for _ in range(args.rounds):
        for kind in runs:
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind, "--repos", str(args.repos), "--files", str(args.files)],
                capture_output=True,
                text=True,
                check=True,
            )
            runs[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{args.repos} repositories × {args.files} files, drained in a started app; median of {args.rounds} runs")
    print(f"  {'':52} {'not settled':>12} {'settled':>12}")
    for key, what, fmt in ROWS:
        cells = [fmt.format(statistics.median(r[key] for r in runs[kind])) for kind in ("not", "settled")]
        print(f"  {what:52} {cells[0]:>12} {cells[1]:>12}")


if __name__ == "__main__":
    main()
