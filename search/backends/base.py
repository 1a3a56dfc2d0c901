"""The one interface every search backend implements, and the query work they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from search.documents import Document, SearchQuery, SearchResult


class SearchError(Exception):
    """The search engine failed (unreachable, a task failed). The message says what happened."""


class SearchBackend(ABC):
    name: str = "base"

    @abstractmethod
    def upsert(self, documents: Iterable[Document]) -> None:
        """Add or replace documents (by type and id)."""

    @abstractmethod
    def delete(self, keys: Iterable[tuple[str, str]]) -> None:
        """Remove documents by (type, id); unknown ones are ignored."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """Ranked hits, total and facet counts. Never raises for odd query text."""

    @abstractmethod
    def rebuild(self, documents: Iterable[Document]) -> int:
        """Replace the whole index with these documents, atomically: searches keep answering from the old
        index until the new one is complete, and a failed rebuild leaves the old one in place."""

    @abstractmethod
    def count(self) -> int:
        """How many documents the index holds."""

    def health(self) -> dict[str, Any]:
        try:
            return {"backend": self.name, "ok": True, "documents": self.count()}
        except Exception as exc:  # reported, not raised
            return {"backend": self.name, "ok": False, "error": f"{type(exc).__name__}: {exc}"}

    def close(self) -> None:  # noqa: B027  (optional)
        """Release connections."""
