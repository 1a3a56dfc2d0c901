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
from codebank.demo import register_demo
from search.backends.base import SearchBackend
from search.backends.fts5 import Fts5Backend
from search.documents import Document
from service.cli import demo_settings
from service.db import upgrade
from service.indexing import all_documents, codebank_documents
from service.settings import Settings

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
    """The whole demo (12 municipalities, the processes, the code bank's bots, code and principles) as search
    documents — so the relevance set also checks that code and bots do not crowd out the processes."""
    data = tmp_path_factory.mktemp("demo")
    settings = demo_settings(Settings(data_dir=data))

    async def go() -> list[Document]:
        engine = create_engine(settings.effective_database_url)
        try:
            await upgrade(engine)
            reads, writes = session_factories(engine)
            async with writes() as session:
                await load_demo(session)
                await register_demo(session, settings.codebank())
                await session.commit()
            async with reads() as session:
                docs = [d async for d in all_documents(session)]
                return docs + await codebank_documents(session, settings.codebank())
        finally:
            await engine.dispose()

    return asyncio.run(go())
