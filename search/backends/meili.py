"""The production search backend: Meilisearch, through its Python client.

Our own Danish analysis (search.analysis) produces the text Meilisearch indexes and the words it is asked
for; Meilisearch adds its ranking, typo tolerance and prefix search on top. Index settings are declared
here in code, documents are sent in batches, every task is awaited and a failed task raises SearchError.
A rebuild fills a fresh index and swaps it in atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterable, Iterator
from typing import Any

from search.analysis import AnalyzedQuery, parse_query
from search.backends.base import SearchBackend, SearchError
from search.documents import FACETS, Document, SearchQuery, SearchResult, Viewer, municipality_visibility
from search.fields import indexed_fields, make_hit
from search.stemming import stem, stopwords, synonym_groups

BATCH = 1000
TASK_TIMEOUT_MS = 60_000
REBUILD_TASK_TIMEOUT_MS = 600_000
SEARCHABLE = ["a_title", "a_summary", "a_meta", "a_body"]  # in order of importance


def meili_string(value: str) -> str:
    """A value as a Meilisearch filter string literal: the only way user text reaches a filter."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def facet_key(value: str) -> str:
    return " ".join(value.split()).casefold()


def document_key(type_: str, id_: str) -> str:
    """Meilisearch ids allow only [A-Za-z0-9_-]; ours may hold anything (file paths), so hash them."""
    return f"{type_}-{hashlib.blake2b(f'{type_}:{id_}'.encode(), digest_size=12).hexdigest()}"


def to_meili(doc: Document) -> dict[str, Any]:
    body, a_title, a_summary, a_body, a_meta = indexed_fields(doc)
    out: dict[str, Any] = {
        "key": document_key(doc.type, doc.id),
        "type": doc.type,
        "id": doc.id,
        "title": doc.title,
        "url": doc.url,
        "summary": doc.summary,
        "body": body,
        "visibility": doc.visibility,
        "boost": doc.boost,
        "a_title": a_title,
        "a_summary": a_summary,
        "a_body": a_body,
        "a_meta": a_meta,
    }
    for name, values in doc.facet_values().items():
        out[f"f_{name}"] = values
        out[f"fk_{name}"] = [facet_key(v) for v in values]
    return out


def index_settings() -> dict[str, Any]:
    synonyms: dict[str, list[str]] = {}
    for group in synonym_groups():
        forms = [" ".join(stem(w) for w in alt.replace("-", " ").split()) for alt in group]
        for form in forms:
            synonyms[form] = [f for f in forms if f != form]
    return {
        "searchableAttributes": SEARCHABLE,
        "displayedAttributes": ["key", "type", "id", "title", "url", "summary", "body"],
        "filterableAttributes": ["key", "type", "visibility", *(f"fk_{name}" for name in FACETS)],
        "sortableAttributes": ["title"],
        "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness", "boost:desc"],
        "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 8}},
        "stopWords": sorted({stem(w) for w in stopwords()}),
        "synonyms": synonyms,
        "faceting": {"maxValuesPerFacet": 200},
        "pagination": {"maxTotalHits": 10_000},
    }


def query_text(query: AnalyzedQuery) -> str:
    """The words Meilisearch is asked for: the stem of each query word (synonyms are index settings)."""
    words: list[str] = []
    for term in query.terms:
        if term.exact:
            words.append(term.exact[1] if len(term.exact) > 1 and " " not in term.text else term.exact[0])
        elif term.phrases:
            words.extend(term.phrases[0])
    return " ".join(words)


def visibility_filter(viewer: Viewer) -> str | None:
    if viewer.is_admin:
        return None
    if viewer.municipality:
        return (
            f"visibility = {meili_string('network')} OR "
            f"visibility = {meili_string(municipality_visibility(viewer.municipality))}"
        )
    return f"visibility = {meili_string('network')}"


def search_filter(query: SearchQuery) -> list[str]:
    clauses = [c for c in [visibility_filter(query.viewer)] if c]
    for name, value in sorted(query.filters.items()):
        if name in FACETS and value:
            clauses.append(f"fk_{name} = {meili_string(facet_key(value))}")
    return clauses


class MeiliBackend(SearchBackend):
    name = "meilisearch"

    def __init__(self, url: str, api_key: str | None = None, index: str = "rpabank") -> None:
        import meilisearch

        self.client = meilisearch.Client(url, api_key, timeout=30)
        self.uid = index
        self._ready = False

    # -------------------------------------------------------- tasks

    def _wait(self, task_info: Any, timeout_ms: int = TASK_TIMEOUT_MS) -> None:
        from meilisearch.errors import MeilisearchError

        try:
            task = self.client.wait_for_task(task_info.task_uid, timeout_in_ms=timeout_ms, interval_in_ms=50)
        except MeilisearchError as exc:
            raise SearchError(f"Meilisearch task {task_info.task_uid} did not finish: {exc}") from exc
        if task.status != "succeeded":
            error = task.error or {}
            raise SearchError(
                f"Meilisearch task {task.uid} ({task.type}) {task.status}: "
                f"{error.get('message', 'no message')} [{error.get('code', '?')}]"
            )

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from meilisearch.errors import MeilisearchError

        try:
            return fn(*args, **kwargs)
        except MeilisearchError as exc:
            raise SearchError(f"Meilisearch failed to {what}: {exc}") from exc

    def _exists(self, uid: str) -> bool:
        from meilisearch.errors import MeilisearchApiError

        try:
            self.client.get_index(uid)
            return True
        except MeilisearchApiError as exc:
            if getattr(exc, "code", None) == "index_not_found":
                return False
            raise SearchError(f"Meilisearch failed to look up index {uid}: {exc}") from exc

    def _create(self, uid: str) -> None:
        self._wait(self._call("create an index", self.client.create_index, uid, {"primaryKey": "key"}))
        self._wait(self._call("apply index settings", self.client.index(uid).update_settings, index_settings()))

    def ensure_index(self) -> None:
        if self._ready:
            return
        if not self._exists(self.uid):
            self._create(self.uid)
        else:
            self._wait(
                self._call("apply index settings", self.client.index(self.uid).update_settings, index_settings())
            )
        self._ready = True

    # -------------------------------------------------------- writing

    def upsert(self, documents: Iterable[Document]) -> None:
        self.ensure_index()
        index = self.client.index(self.uid)
        for batch in _batches((to_meili(d) for d in documents), BATCH):
            self._wait(self._call("add documents", index.add_documents, batch, "key"))

    def delete(self, keys: Iterable[tuple[str, str]]) -> None:
        self.ensure_index()
        index = self.client.index(self.uid)
        for batch in _batches((document_key(t, i) for t, i in keys), BATCH):
            expression = "key IN [" + ", ".join(meili_string(k) for k in batch) + "]"
            self._wait(self._call("delete documents", index.delete_documents, filter=expression))

    def rebuild(self, documents: Iterable[Document]) -> int:
        fresh = f"{self.uid}_{time.time_ns()}"
        self._create(fresh)
        count = 0
        try:
            index = self.client.index(fresh)
            for batch in _batches((to_meili(d) for d in documents), BATCH):
                self._wait(self._call("add documents", index.add_documents, batch, "key"), REBUILD_TASK_TIMEOUT_MS)
                count += len(batch)
            if not self._exists(self.uid):
                self._create(self.uid)
            self._wait(self._call("swap indexes", self.client.swap_indexes, [{"indexes": [self.uid, fresh]}]))
        finally:
            # after the swap `fresh` holds the old documents; before it, the unfinished new ones
            with contextlib.suppress(SearchError):
                self._wait(self._call("delete the spare index", self.client.delete_index, fresh))
        self._ready = True
        return count

    # -------------------------------------------------------- reading

    def count(self) -> int:
        self.ensure_index()
        stats = self._call("read index stats", self.client.index(self.uid).get_stats)
        return int(getattr(stats, "number_of_documents", 0))

    def search(self, query: SearchQuery) -> SearchResult:
        self.ensure_index()
        analyzed = parse_query(query.text)
        params: dict[str, Any] = {
            "limit": query.limit,
            "offset": query.offset,
            "facets": [f"f_{name}" for name in FACETS],
            "attributesToRetrieve": ["type", "id", "title", "url", "summary", "body"],
            "matchingStrategy": "last",
            "showRankingScore": True,
        }
        clauses = search_filter(query)
        if clauses:
            params["filter"] = clauses
        if analyzed.empty:
            params["sort"] = ["title:asc"]
        raw = self._call("search", self.client.index(self.uid).search, query_text(analyzed), params)
        hits = [
            make_hit(
                h["type"],
                h["id"],
                h["title"],
                h["url"],
                h.get("summary", ""),
                h.get("body", ""),
                round(float(h.get("_rankingScore", 0.0)), 4),
                analyzed,
            )
            for h in raw.get("hits", [])
        ]
        distribution = raw.get("facetDistribution", {}) or {}
        facets = {name: dict(distribution.get(f"f_{name}", {})) for name in FACETS}
        total = int(raw.get("totalHits", raw.get("estimatedTotalHits", len(hits))))
        return SearchResult(total=total, hits=hits, facets=facets)


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
