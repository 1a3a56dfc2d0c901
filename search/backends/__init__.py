"""Search backends behind one interface: the embedded SQLite FTS5 default, PostgreSQL and Meilisearch."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from search.backends.base import SearchBackend, SearchError
from search.documents import ExternalBody

ENGINES = ("fts5", "postgres", "meilisearch")


def is_postgres_url(database_url: str | None) -> bool:
    """Whether a SQLAlchemy database URL names PostgreSQL (`postgresql://`, `postgresql+asyncpg://`, …)."""
    if not database_url:
        return False
    scheme = database_url.split("://", 1)[0].split("+", 1)[0].lower()
    return scheme in ("postgresql", "postgres")


def open_backend(
    data_dir: Path,
    meili_url: str | None = None,
    meili_key: str | None = None,
    meili_index: str = "rpabank",
    database_url: str | None = None,
    engine: str | None = None,
    external: Mapping[str, ExternalBody] | None = None,
) -> SearchBackend:
    """The search backend the configuration asks for.

    Meilisearch when a URL is configured; else PostgreSQL (tables `search_*` in the same database) when the
    database is PostgreSQL; else FTS5 in `<data_dir>/search`. `engine="fts5"` keeps FTS5 next to a
    PostgreSQL database (one app instance only: the index is a local file). `external`: the types of document
    whose summary and body the database keeps itself (PostgreSQL reads them from there, see `ExternalBody`).
    """
    if engine is not None and engine not in ENGINES:
        raise ValueError(f"unknown search engine {engine!r}: one of {', '.join(ENGINES)}")
    if engine == "meilisearch" and not meili_url:
        raise ValueError("the meilisearch search engine needs a Meilisearch URL")
    if engine == "postgres" and not is_postgres_url(database_url):
        raise ValueError("the postgres search engine needs a PostgreSQL database URL")
    if meili_url and engine in (None, "meilisearch"):
        from search.backends.meili import MeiliBackend

        return MeiliBackend(meili_url, meili_key, index=meili_index)
    if database_url and is_postgres_url(database_url) and engine != "fts5":
        from search.backends.postgres import PostgresBackend

        return PostgresBackend(database_url, external=external)
    from search.backends.fts5 import Fts5Backend

    return Fts5Backend(Path(data_dir) / "search")


__all__ = ["ENGINES", "SearchBackend", "SearchError", "is_postgres_url", "open_backend"]
