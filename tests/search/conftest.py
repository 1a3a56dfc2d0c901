"""Search fixtures: every backend that can run here, and the demo catalogue as search documents."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from search.backends.base import SearchBackend
from search.backends.fts5 import Fts5Backend
from search.documents import Document
from service.demo import demo_documents as demo_documents_of
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
    return asyncio.run(demo_documents_of(Settings(data_dir=tmp_path_factory.mktemp("demo"))))
