"""Search fixtures: every backend that can run here, and the demo catalogue as search documents."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalogue.db import create_engine, session_factories
from catalogue.demo import load_demo
from search.backends.base import SearchBackend
from search.backends.fts5 import Fts5Backend
from search.documents import Document
from service.db import upgrade
from service.indexing import all_documents

MEILI_SKIP = (
    "no Meilisearch server here: set RPABANK_TEST_MEILI_URL (and RPABANK_TEST_MEILI_KEY) to run the "
    "contract tests against a real one; no fake server stands in for it"
)


@pytest.fixture(params=["fts5", "meilisearch"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    """An empty index on each backend."""
    if request.param == "fts5":
        b: SearchBackend = Fts5Backend(tmp_path / "search")
        yield b
        b.close()
        return
    url = os.environ.get("RPABANK_TEST_MEILI_URL")
    if not url:
        pytest.skip(MEILI_SKIP)
    from search.backends.meili import MeiliBackend

    uid = f"rpabank_test_{uuid.uuid4().hex[:8]}"
    meili = MeiliBackend(url, os.environ.get("RPABANK_TEST_MEILI_KEY"), index=uid)
    yield meili
    with contextlib.suppress(Exception):
        meili._wait(meili.client.delete_index(uid))


@pytest.fixture(scope="session")
def demo_documents(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    """The demo catalogue (12 municipalities, its processes) as search documents."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"

    async def go() -> list[Document]:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
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

    return asyncio.run(go())
