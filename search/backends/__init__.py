"""Search backends behind one interface: the embedded SQLite FTS5 default and Meilisearch."""

from __future__ import annotations

from pathlib import Path

from search.backends.base import SearchBackend, SearchError


def open_backend(
    data_dir: Path, meili_url: str | None = None, meili_key: str | None = None, meili_index: str = "rpabank"
) -> SearchBackend:
    """Meilisearch when a URL is configured, else FTS5 in `<data_dir>/search`."""
    if meili_url:
        from search.backends.meili import MeiliBackend

        return MeiliBackend(meili_url, meili_key, index=meili_index)
    from search.backends.fts5 import Fts5Backend

    return Fts5Backend(Path(data_dir) / "search")


__all__ = ["SearchBackend", "SearchError", "open_backend"]
