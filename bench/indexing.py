"""Indexing throughput, reindex memory and index size, for FTS5 and PostgreSQL, side by side in one run.

For each engine (and with `--before DIR` for an older checkout too, e.g. /work/before or one unpacked with
`git archive`), a process of its own, running that checkout's code:

1. fills a catalogue database (SQLite, or a PostgreSQL database `ixs_bench_<pid>_<n>` made and dropped by the
   run) with N generated processes (`bench/catalogue_gen.py`: systems, technologies, municipalities) and, with
   `--code M`, a bot whose repository has M generated source files (or, with `--code-repo DIR`, the files of a
   real repository at its head instead: e.g. a `git archive` of this project committed once, to see how the
   index of real code compares with its git mirror);
2. `reindex`: the whole index rebuilt from the database as `rpabank reindex` does it (the collators read the
   rows and the bot's files, the backend analyses and writes them), in the fresh process: documents/s by the
   clock and per CPU second of the process (PostgreSQL's own work is not in that), peak RSS of the process;
   what a run pays once (importing the rebuild's modules, loading the analysis's lexicon) is measured apart;
3. `backend`: the N processes as documents (made beforehand) rebuilt into an index of their own (FTS5: another
   folder; PostgreSQL: another schema, so that the code files of step 4 still replace indexed ones): analysis
   and writing alone, per CPU second;
4. the code files: read from the mirror (files/s by the clock: one `git cat-file` stream), then analysed and
   written through `upsert` in batches, as the queue drainer does, replacing the same files indexed by the
   reindex (files/s per CPU second and by the clock: PostgreSQL's own work is in the latter); then as many files
   of another bot, new to the index, whose functions' names are new to the analysis too;
5. the index's size against the database it indexes (FTS5: the index files against the catalogue file;
   PostgreSQL: `pg_total_relation_size` of the `search_*` tables, with their indexes and TOAST, against that of
   every other table); with `--code`, also against the database and the code mirrors together: the code files'
   text is indexed but kept in the mirror, not in the database.

    .venv/bin/python bench/indexing.py [--docs 10000] [--code 2000 | --code-repo DIR] [--engines fts5,postgres]
                                       [--before DIR]
                                       [--repeat 1] [--pg-url postgresql://postgres@127.0.0.1:5432/test]

The machine may be busy: the per-CPU-second figures are the ones to compare; compare columns of one run. With
`--repeat N` each checkout runs N times, in turn with the other, and each figure is the median of its N runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
sys.path.append(str(ROOT))  # after PYTHONPATH: a child run imports the code under test first
DEFAULT_PG = os.environ.get("RPABANK_BENCH_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"
from bench.catalogue_gen import municipality_rows  # noqa: E402
from bench.scale import pg_admin, rss_mb  # noqa: E402

# ---------------------------------------------------------------- the child run


async def fill(url: str, n: int) -> None:
    """N generated processes with their terms, straight into the catalogue tables."""
    import datetime as dt

    from sqlalchemy import insert

    from bench.catalogue_gen import processes
    from catalogue.models import Municipality, Process, ProcessTerm, Term
    from catalogue.vocab import term_key
    from core.db import create_engine
    from service.db import upgrade

    engine = create_engine(url)
    await upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    terms: dict[tuple[str, str], int] = {}
    async with engine.begin() as conn:
        await conn.execute(insert(Municipality), municipality_rows(now))
        batch: list[Any] = []
        for i, doc in enumerate(processes(n), 1):
            batch.append(doc)
            if len(batch) < 1000 and i < n:
                continue
            new = {
                (kind, value)
                for d in batch
                for kind, facet in (("system", "system"), ("technology", "technology"))
                for value in d.facets[facet]
                if (kind, value) not in terms
            }
            for kind, value in sorted(new):
                terms[(kind, value)] = len(terms) + 1
            if new:
                await conn.execute(
                    insert(Term),
                    [{"id": terms[k], "kind": k[0], "key": term_key(k[1]), "label": k[1]} for k in sorted(new)],
                )
            await conn.execute(
                insert(Process),
                [
                    {
                        "id": d.id,
                        "title": d.title,
                        "summary": d.summary[:280],
                        "description": d.body,
                        "domain": d.facets["domain"][0],
                        "phase": d.facets["phase"][0],
                        "status": "active",
                        "owner_municipality": d.facets["municipality"][0],
                        "visibility": "network",
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for d in batch
                ],
            )
            await conn.execute(
                insert(ProcessTerm),
                [
                    {"process_id": d.id, "term_id": terms[(kind, value)], "position": p}
                    for d in batch
                    for kind in ("system", "technology")
                    for p, value in enumerate(d.facets[kind])
                ],
            )
            batch = []
    await engine.dispose()


async def add_bot(url: str, root: Path, files: int, repo: str = "") -> tuple[Any, str]:
    """(the code bank's settings, the slug of a bot) whose repository holds `files` generated source files (or is
    the repository `repo`), registered (and mirrored) as in use."""
    from bench.codebank import ADMIN, make_repo
    from codebank.schemas import BotCreate
    from codebank.services import BotService, CodebankConfig
    from core.db import create_engine, session_factories
    from core.indexing import IndexQueue

    if not repo:
        make_repo(root / "src" / "robot", files, 1)
        repo = str(root / "src" / "robot")
    config = CodebankConfig(data_dir=root / "data", allow_local=True)
    engine = create_engine(url)
    _, writes = session_factories(engine)
    async with writes() as session:
        slug = (await BotService(session, config).register(ADMIN, BotCreate(url=repo))).slug
        await session.commit()
    async with writes() as session:
        from sqlalchemy import delete

        await session.execute(delete(IndexQueue))
        await session.commit()
    await engine.dispose()
    return config, slug


async def reindex(url: str, backend: Any, config: Any, lock_dir: Path) -> int:
    from core.db import create_engine, session_factories
    from service.indexing import Indexer

    engine = create_engine(url)
    reads, writes = session_factories(engine)
    try:
        return await Indexer(backend, reads, writes, config, lock_dir=lock_dir).rebuild()
    finally:
        await engine.dispose()


def sizes_pg(url: str) -> tuple[int, int]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
            )
        ).all()
    engine.dispose()
    index = sum(size for name, size in rows if name.startswith("search_"))
    return index, sum(size for name, size in rows if not name.startswith("search_"))


def collected() -> None:
    """A full collection before a timed step, so that the collector's work during it comes from the step's own
    objects: otherwise whether a full collection (some 40 ms here) falls into a step of 2,000 files depends on what
    ran before it, and two checkouts whose imports differ by a few objects measured the same code 15-20 % apart."""
    import gc

    gc.collect()


def upserted(name: str, backend: Any, files: list[Any]) -> dict[str, float]:
    """Write `files` through `upsert` in batches of 500, as the queue drainer does: `<name>_files_per_cpu_s` (of
    this process) and `<name>_files_per_s` (by the clock). After a full collection (see `collected`)."""
    collected()
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(files), 500):
        backend.upsert(files[start : start + 500])
    return {
        f"{name}_files_per_cpu_s": len(files) / (time.process_time() - cpu),
        f"{name}_files_per_s": len(files) / (time.perf_counter() - wall),
    }


def child(engine_name: str, n: int, code: int, pg_url: str, code_repo: str = "") -> dict[str, Any]:
    import random

    from bench.catalogue_gen import processes
    from bench.codebank import source_file
    from codebank.models import Bot
    from codebank.search_documents import code_document, read_texts

    work = Path(tempfile.mkdtemp(prefix="ixs-indexing-"))
    if engine_name == "postgres":
        from sqlalchemy.engine import make_url

        name = f"ixs_bench_{os.getpid()}_{n}"
        pg_admin(pg_url, f"CREATE DATABASE {name}")
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{work / 'rpabank.sqlite3'}"
    try:
        asyncio.run(fill(url, n))
        config, slug = asyncio.run(add_bot(url, work, code, code_repo)) if code or code_repo else (None, "")
        if engine_name == "postgres":
            from search.backends.postgres import PostgresBackend

            try:  # as the app opens it: the processes' bodies read from their rows (code that has them)
                from catalogue.search_documents import EXTERNAL_BODIES

                backend: Any = PostgresBackend(url, external=EXTERNAL_BODIES)
            except ImportError:
                backend = PostgresBackend(url)
        else:
            from search.backends.fts5 import Fts5Backend

            backend = Fts5Backend(work / "search")
        out: dict[str, Any] = {}
        # What a reindex pays once, whatever the catalogue's size (the rebuild's modules, the analysis's lexicon
        # and stemmer), measured apart: the documents per CPU second are those of the documents.
        cpu = time.process_time()
        import service.indexing  # noqa: F401
        from search.analysis import analyze

        analyze("straffeattester")
        out["reindex_start_cpu_s"] = time.process_time() - cpu
        collected()
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS from here on
        rss_before = rss_mb()
        wall, cpu = time.perf_counter(), time.process_time()
        count = asyncio.run(reindex(url, backend, config, work))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        out.update(
            reindex_docs=count,
            reindex_per_s=count / wall,
            reindex_per_cpu_s=count / cpu,
            reindex_peak_rss_mb=rss_mb(field="VmHWM"),
            reindex_rss_growth_mb=rss_mb(field="VmHWM") - rss_before,
        )
        if engine_name == "postgres":
            index, database = sizes_pg(url)
        else:
            import sqlite3

            db = sqlite3.connect(work / "rpabank.sqlite3")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            database = sum(p.stat().st_size for p in work.glob("rpabank.sqlite3*"))
            index = sum(p.stat().st_size for p in (work / "search").glob("index-*"))
        out.update(index_mb=index / 1e6, database_mb=database / 1e6, index_over_database=index / database)
        if config is not None:  # the code files are indexed from the mirror, not the database: it counts too
            mirror = sum(p.stat().st_size for p in config.mirrors.rglob("*") if p.is_file())
            out.update(mirror_mb=mirror / 1e6, index_over_sources=index / (database + mirror))

        docs = list(processes(n))
        collected()
        cpu = time.process_time()
        # into an index of its own: the code files below replace those the reindex wrote
        if engine_name == "fts5":
            from search.backends.fts5 import Fts5Backend

            Fts5Backend(work / "search2").rebuild(docs)
        else:
            external = getattr(backend.sql, "external", None)  # (as the backend of the reindex above)
            other_schema = type(backend)(url, schema="bench_backend", **({"external": external} if external else {}))
            other_schema.rebuild(docs)
            other_schema.close()
        out["backend_per_cpu_s"] = n / (time.process_time() - cpu)
        del docs  # (the drainer below holds no such list: its objects would only slow the garbage collector)

        if config is not None:
            mirror = config.mirror(slug)
            head = subprocess.run(
                ["git", "--git-dir", str(mirror), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
            ).stdout.strip()
            wall = time.perf_counter()
            try:  # the files the code bank searches (code that tells them from vendored and generated ones)
                from codebank.search_documents import is_minified, is_own_code

                texts = {
                    p: t for p, t in read_texts(mirror, head, None, keep=is_own_code).items() if not is_minified(t)
                }
            except ImportError:
                texts = read_texts(mirror, head, None)
            out["code_read_files_per_s"] = len(texts) / (time.perf_counter() - wall)
            bot = Bot(slug=slug, name="Robot", owner_municipality="253", facts={})
            files = [code_document(bot, path, text) for path, text in texts.items()]
            out.update(upserted("code_upsert", backend, files))
            # another bot's as many files, new to the index (and their functions' names new to the analysis)
            other = Bot(slug="robot2", name="Robot 2", owner_municipality="101", facts={})
            rng = random.Random(2)
            files = [code_document(other, f"pakke/modul_{i}.py", source_file(rng, i)) for i in range(len(files))]
            out.update(upserted("code_insert", backend, files))
        backend.close()
        return out
    finally:
        if engine_name == "postgres":
            pg_admin(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        subprocess.run(["rm", "-rf", str(work)], check=False)


def run_child(src: Path, engine: str, n: int, code: int, pg_url: str, code_repo: str = "") -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", engine, "--docs", str(n), "--code", str(code)]
        + ["--pg-url", pg_url, "--code-repo", code_repo],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"the {engine} run of {src} failed")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


ROWS = {  # key: (what, format)
    "reindex_per_s": ("reindex (database → index), documents/s by the clock", "{:,.0f}"),
    "reindex_per_cpu_s": ("reindex, documents per CPU second of the process", "{:,.0f}"),
    "reindex_start_cpu_s": (  # not in the documents per CPU second above
        "reindex: once per run (modules, lexicon), CPU s",
        "{:.2f}",
    ),
    "backend_per_cpu_s": ("analysis + backend alone, documents per CPU second", "{:,.0f}"),
    "reindex_peak_rss_mb": ("reindex: peak RSS of the process (MB)", "{:,.0f}"),
    "reindex_rss_growth_mb": ("reindex: peak RSS above the RSS before it (MB)", "{:,.0f}"),
    "index_mb": ("index size (MB)", "{:,.1f}"),
    "database_mb": ("database indexed (MB)", "{:,.1f}"),
    "index_over_database": ("index / database", "{:.2f}x"),
}
CODE_ROWS = {  # with --code
    "code_read_files_per_s": ("code files read from the mirror, files/s", "{:,.0f}"),
    **{
        f"{key}_files_per_{unit}": (f"{what}, {per}", "{:,.0f}")
        for key, what in (
            ("code_upsert", "code files analysed + upserted"),
            ("code_insert", "another bot's new code files"),
        )
        for unit, per in (("cpu_s", "files per CPU second"), ("s", "files/s by the clock"))
    },
    "mirror_mb": ("code mirrors indexed (MB)", "{:,.1f}"),
    "index_over_sources": ("index / (database + mirrors)", "{:.2f}x"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--code", type=int, default=0)
    parser.add_argument("--code-repo", default="", help="a git repository whose files are the bot's (not generated)")
    parser.add_argument("--engines", default="fts5,postgres")
    parser.add_argument("--before", type=Path)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each checkout, in turn; the median is shown")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.docs, args.code, args.pg_url, args.code_repo)))
        return
    sources = [("after", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    for engine in args.engines.split(","):
        runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in sources}
        for _ in range(args.repeat):  # the checkouts in turn, so that a change in the machine's load hits both
            for label, src in sources:
                runs[label].append(run_child(src, engine, args.docs, args.code, args.pg_url, args.code_repo))
        results = {label: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for label, rs in runs.items()}
        print(
            f"\n{engine}: {args.docs:,} processes"
            + (f" + {args.code:,} code files" if args.code and not args.code_repo else "")
            + (f" + the files of {args.code_repo}" if args.code_repo else "")
            + (f", median of {args.repeat} runs" if args.repeat > 1 else "")
        )
        labels = [label for label, _ in sources][::-1]
        print(f"  {'':58}" + "".join(f"{label:>12}" for label in labels))
        for key, (title, fmt) in (ROWS | CODE_ROWS).items():
            if any(key in results[label] for label in labels):
                cells = [fmt.format(results[label][key]) if key in results[label] else "-" for label in labels]
                print(f"  {title:58}" + "".join(f"{c:>12}" for c in cells))


if __name__ == "__main__":
    main()
