"""Search fixtures: every backend that can run here, and the demo catalogue as search documents."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text

from search.backends.base import SearchBackend
from search.backends.fts5 import Fts5Backend
from search.backends.postgres import PostgresBackend
from search.documents import Document, ExternalBody
from service.demo import demo_documents as demo_documents_of
from service.settings import Settings

PG_URL = os.environ.get("RPABANK_TEST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"
MEILI_SKIP = (
    "no Meilisearch server here: set RPABANK_TEST_MEILI_URL (and RPABANK_TEST_MEILI_KEY) to run the "
    "contract tests against a real one; no fake server stands in for it"
)


def postgres_unreachable() -> str | None:
    """None when PostgreSQL answers at PG_URL, else why not (the reason its tests are skipped)."""
    try:
        with psycopg.connect(make_url(PG_URL).set(drivername="postgresql").render_as_string(False), connect_timeout=3):
            return None
    except Exception as exc:
        return f"no PostgreSQL at {PG_URL} (set RPABANK_TEST_PG_URL): {type(exc).__name__}: {exc}"


@pytest.fixture
def make_postgres() -> Iterator[Callable[..., PostgresBackend]]:
    """Makes PostgresBackends, by default each in a new schema `rpabank_test_<hex>`; every schema used is
    dropped afterwards. Skips the test when PostgreSQL is unreachable."""
    made: list[PostgresBackend] = []

    def make(schema: str | None = None, external: Mapping[str, ExternalBody] | None = None) -> PostgresBackend:
        reason = postgres_unreachable()
        if reason:
            pytest.skip(reason)
        b = PostgresBackend(PG_URL, schema=schema or new_schema(), external=external)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()
    if made:
        engine = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"))
        with engine.begin() as conn:
            for schema in sorted({b.sql.schema for b in made}):
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def new_schema() -> str:
    return f"rpabank_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["fts5", "postgres", "meilisearch"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, make_postgres: Callable[..., PostgresBackend]
) -> Iterator[SearchBackend]:
    """An empty index on each backend."""
    if request.param == "fts5":
        b: SearchBackend = Fts5Backend(tmp_path / "search")
        yield b
        b.close()
        return
    if request.param == "postgres":
        yield make_postgres()
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


def in_threads(work: Callable[[int], None], threads: int, step: int) -> list[BaseException]:
    """Run `work(offset)` in `threads` threads at once (offsets 0, step, 2·step, …: each starts elsewhere, so they
    race on what none has seen yet); the exceptions they raised."""
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(offset: int) -> None:
        start.wait()
        try:
            work(offset)
        except BaseException as exc:  # reported to the caller
            errors.append(exc)

    running = [threading.Thread(target=run, args=(i * step,)) for i in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    return errors


def racing_a_bounded_cache(
    cache: Any, limit: int, function: Callable[[str], Any], cases: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Run `function` over the texts of `cases` from 8 threads at once while `cache` holds at most `limit` entries
    (so it is emptied again and again while they run); the texts whose answer was not the expected one."""
    texts, expected = list(cases), list(cases.values())
    monkeypatch.setattr(cache, "limit", limit)
    cache.clear()
    failures: list[str] = []

    def work(offset: int) -> None:
        for i in list(range(offset, len(texts))) + list(range(offset)):
            if function(texts[i]) != expected[i]:
                failures.append(texts[i])

    assert in_threads(work, 8, max(1, len(texts) // 8)) == []
    return failures
