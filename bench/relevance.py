"""Relevance of the search on the demo catalogue: hit@3 and MRR over tests/search/relevance_queries.tsv.

    .venv/bin/python bench/relevance.py            # the embedded FTS5 backend
    RPABANK_MEILI_URL=http://127.0.0.1:7700 .venv/bin/python bench/relevance.py   # also Meilisearch
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalogue.db import create_engine, session_factories  # noqa: E402
from catalogue.demo import load_demo  # noqa: E402
from search.backends.base import SearchBackend  # noqa: E402
from search.backends.fts5 import Fts5Backend  # noqa: E402
from search.documents import Document  # noqa: E402
from service.db import upgrade  # noqa: E402
from service.indexing import all_documents  # noqa: E402
from tests.search.test_relevance import evaluate, relevance_set  # noqa: E402


async def demo_documents(folder: Path) -> list[Document]:
    engine = create_engine(f"sqlite+aiosqlite:///{folder / 'demo.sqlite3'}")
    try:
        await upgrade(engine)
        reads, writes = session_factories(engine)
        async with writes() as session:
            await load_demo(session)
            await session.commit()
        async with reads() as session:
            return [d async for d in all_documents(session)]
    finally:
        await engine.dispose()


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="rpabank-relevance-"))
    docs = asyncio.run(demo_documents(folder))
    backends: list[SearchBackend] = [Fts5Backend(folder / "search")]
    if os.environ.get("RPABANK_MEILI_URL"):
        from search.backends.meili import MeiliBackend

        backends.append(MeiliBackend(os.environ["RPABANK_MEILI_URL"], os.environ.get("RPABANK_MEILI_KEY"),
                                     index="rpabank_relevance"))
    print(f"{len(relevance_set())} queries over {len(docs)} demo documents")
    for backend in backends:
        backend.rebuild(docs)
        hit3, mrr, misses = evaluate(backend)
        print(f"{backend.name:12} hit@3 {hit3:.3f}  MRR {mrr:.3f}")
        for miss in misses:
            print("   miss:", miss)


if __name__ == "__main__":
    main()
