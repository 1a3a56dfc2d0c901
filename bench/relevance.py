"""Relevance of the search on the whole demo (catalogue and code bank) and the relevance corpus: hit@1, hit@3 and
MRR over tests/search/backends/relevance_queries.tsv, in all and per kind of query.

    .venv/bin/python bench/relevance.py            # the embedded FTS5 backend
    RPABANK_MEILI_URL=http://127.0.0.1:7700 .venv/bin/python bench/relevance.py   # also Meilisearch
    RPABANK_PG_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/relevance.py  # also PostgreSQL
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.backends.base import SearchBackend  # noqa: E402
from search.backends.fts5 import Fts5Backend  # noqa: E402
from service.demo import demo_documents  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.search.backends.test_base_relevance import corpus_documents, evaluate, relevance_set  # noqa: E402


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="rpabank-relevance-"))
    docs = asyncio.run(demo_documents(Settings(data_dir=folder / "data"))) + corpus_documents()
    backends: list[SearchBackend] = [Fts5Backend(folder / "search")]
    if os.environ.get("RPABANK_MEILI_URL"):
        from search.backends.meili import MeiliBackend

        backends.append(
            MeiliBackend(
                os.environ["RPABANK_MEILI_URL"], os.environ.get("RPABANK_MEILI_KEY"), index="rpabank_relevance"
            )
        )
    schemas = []  # PostgreSQL: a schema of its own, dropped afterwards
    if os.environ.get("RPABANK_PG_URL"):
        from search.backends.postgres import PostgresBackend

        pg = PostgresBackend(os.environ["RPABANK_PG_URL"], schema=f"rpabank_relevance_{os.getpid()}")
        backends.append(pg)
        schemas.append(pg)
    print(f"{len(relevance_set())} queries over {len(docs)} documents (the demo and the relevance corpus)")
    for backend in backends:
        backend.rebuild(docs)
        result = evaluate(backend)
        print(result.report(backend.name))
        for miss in result.misses:
            print("   miss:", miss)
    for pg in schemas:
        with pg.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{pg.sql.schema}" CASCADE')
        pg.close()


if __name__ == "__main__":
    main()
