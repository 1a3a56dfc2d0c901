"""Code bank benchmark: a generated bank of repositories × files.

Prints full indexing throughput (files/s) for the bank, then the time to re-index after a one-file commit
for a bank of 10 and of 50 repositories (it should not grow with the bank: only the changed file is read).

    .venv/bin/python bench/codebank.py [--repos 50] [--files 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codebank.schemas import BotCreate  # noqa: E402
from codebank.services import BotService, CodebankConfig  # noqa: E402
from core.actors import Actor  # noqa: E402
from core.db import create_engine, session_factories  # noqa: E402
from search.backends.fts5 import Fts5Backend  # noqa: E402
from service.db import upgrade  # noqa: E402
from service.indexing import Indexer  # noqa: E402

WORDS = [
    "hent",
    "straffeattest",
    "sag",
    "borger",
    "kø",
    "faktura",
    "betal",
    "journaliser",
    "dokument",
    "edoc",
    "opus",
    "nexus",
    "attest",
    "tolk",
    "regning",
    "refusion",
    "sygedagpenge",
    "ydelse",
    "kontrol",
    "afstem",
]
ADMIN = Actor(role="admin", name="bench")


def source_file(rng: random.Random, n: int) -> str:
    lines = [f'"""Modul {n}: {" ".join(rng.sample(WORDS, 4))}."""', ""]
    for f in range(rng.randint(4, 10)):
        name = "_".join(rng.sample(WORDS, 3)) + f"_{f}"
        lines += [
            f"def {name}(sag_id, klient=None):",
            f"    # {' '.join(rng.sample(WORDS, 6))}",
            f"    resultat = klient.{rng.choice(WORDS)}_{rng.choice(WORDS)}(sag_id) if klient else None",
            "    return resultat",
            "",
        ]
    return "\n".join(lines)


GIT_ENV = {
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@b",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@b",
    "PATH": "/usr/bin:/bin",
}


def git(path: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(path), *args], check=True, env=GIT_ENV)


def make_repo(path: Path, files: int, seed: int) -> None:
    rng = random.Random(seed)
    path.mkdir(parents=True)
    for i in range(files):
        target = path / f"pakke{i % 10}" / f"modul_{i}.py"
        target.parent.mkdir(exist_ok=True)
        target.write_text(source_file(rng, i))
    (path / "README.md").write_text(f"# Robot {seed}\n\nGenereret robot til benchmark.\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        git(path, *args)


def commit_one(path: Path, n: int) -> None:
    (path / "pakke0" / "modul_0.py").write_text(f"def helt_ny_funktion_{n}():\n    return 'ændret'\n")
    git(path, "commit", "-q", "-am", "one file")


async def bank(repos: int, files: int, measure_full: bool) -> None:
    root = Path(tempfile.mkdtemp(prefix="rpabank-codebank-"))
    for r in range(repos):
        make_repo(root / "src" / f"robot-{r}", files, r)
    config = CodebankConfig(data_dir=root / "data", allow_local=True)
    engine = create_engine(f"sqlite+aiosqlite:///{root / 'bank.sqlite3'}")
    await upgrade(engine)
    reads, writes = session_factories(engine)
    backend = Fts5Backend(root / "data" / "search")
    indexer = Indexer(backend, reads, writes, config)

    started = time.perf_counter()
    for r in range(repos):
        async with writes() as session:
            await BotService(session, config).register(ADMIN, BotCreate(url=str(root / "src" / f"robot-{r}")))
            await session.commit()
    mirrored = time.perf_counter() - started
    started = time.perf_counter()
    await indexer.drain()
    indexed = time.perf_counter() - started
    total = repos * files
    print(
        f"bank {repos} repos × {files} files: mirror+metadata {mirrored:.1f} s; "
        f"incremental indexing of all {total} files {indexed:.1f} s = {total / indexed:,.0f} files/s"
    )
    from codebank.search_documents import read_texts

    started = time.perf_counter()
    read = 0
    for r in range(repos):
        mirror = config.mirror(f"robot-{r}")
        head = subprocess.run(
            ["git", "--git-dir", str(mirror), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        read += len(read_texts(mirror, head, None))
    took = time.perf_counter() - started
    print(
        f"  reading alone (every file of every mirror at its head): {read} files in {took:.1f} s = "
        f"{read / took:,.0f} files/s"
    )
    if measure_full:
        started = time.perf_counter()
        count = await indexer.rebuild()
        took = time.perf_counter() - started
        print(f"  full rebuild: {count} documents in {took:.1f} s = {count / took:,.0f} documents/s")

    timings: list[tuple[float, float, int]] = []
    for round_ in range(5):
        commit_one(root / "src" / f"robot-{round_ % repos}", round_)
        started = time.perf_counter()
        async with writes() as session:
            await BotService(session, config).sync(None, f"robot-{round_ % repos}")
            await session.commit()
        synced = time.perf_counter() - started
        started = time.perf_counter()
        done = await indexer.drain()
        timings.append((synced + (time.perf_counter() - started), synced, done))
    timings.sort()
    median_total, synced, drained = timings[len(timings) // 2]
    print(
        f"  one-file commit (median of {len(timings)}): total {median_total * 1000:.0f} ms, of which fetch+read "
        f"{synced * 1000:.0f} ms; {drained} index entries re-done"
    )
    backend.close()
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(bank(10, args.files, measure_full=False))
    asyncio.run(bank(args.repos, args.files, measure_full=True))


if __name__ == "__main__":
    main()
