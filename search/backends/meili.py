"""The production search backend: Meilisearch, through its Python client.

Our own Danish analysis (search.analysis) produces the text Meilisearch indexes and the forms a query word
may match. Index settings are declared here in code and pushed only when they differ from the index's own
(`get_settings`); documents are sent in batches, every task is awaited and a failed task raises SearchError.
A rebuild fills a fresh index and swaps it in atomically. Every failure of the engine (connection refused,
timeout, an API error, an unreadable answer) raises SearchError and nothing else.

How a query reaches Meilisearch
-------------------------------
A query word has several analysed forms (`QueryTerm`): its fold and stem, single-word synonyms, prefixes,
and phrases (the parts of a compound, multi-word synonyms). Meilisearch's `q` has no OR, so one word
cannot be sent with all its forms there. Instead:

- every document carries `forms`, a *filterable* array of the distinct analysed forms of all its text;
- the filter decides which documents match, exactly: a document matches when, for at least one query
  term, it holds one of that term's forms (`forms IN [...]`) or every word of one of its phrases
  (`forms = "a" AND forms = "b"`). Any-term matching is what the FTS5 backend does too: documents with
  every word rank first, the others follow. Visibility (drafts) and facet filters are ANDed beside it
  and stay exact;
- prefixes and typos: for each term's shortest prefix form a facet search on `forms`
  (`POST /indexes/{uid}/facet-search`, prefix- and typo-tolerant, at most 100 values) lists the index
  forms it reaches; they join the term's `IN [...]` list. This is the FTS5 backend's vocabulary
  expansion, done by the engine;
- ranking is Meilisearch's: `q` is an anchor word every document holds (`a_anchor`, last searchable
  attribute) followed by each term's forms, with `matchingStrategy: "last"`. Meilisearch never drops the
  first word of `q`, so the anchor keeps `q` from excluding any document the filter let through, while the
  `words`, `typo`, `proximity`, `attribute` and `exactness` rules rank documents holding more query words
  (and in better fields) first. Meilisearch only reads the first ten words of `q`, so at most nine forms go
  there, the first form of every term before any second one.

Totals are exact: `page`/`hitsPerPage` (which answer `totalHits`), with our `offset`/`limit` mapped to the
smallest page that holds the whole window (see `page_window`). Facets are counted on the `f_*` attributes,
which are filterable for that purpose; filters use the normalised `fk_*` keys.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from search.analysis import AnalyzedQuery, QueryTerm, parse_query
from search.backends.base import SearchBackend, SearchError
from search.documents import FACETS, Document, SearchQuery, SearchResult, Viewer, municipality_visibility
from search.fields import indexed_fields, make_hit, stored_fields
from search.stemming import stem, stopwords, synonym_groups

T = TypeVar("T")

BATCH = 1000
TASK_TIMEOUT_MS = 60_000
REBUILD_TASK_TIMEOUT_MS = 600_000
ANCHOR = "rpabankdokument"  # every document holds it (a_anchor); the first word of every q
SEARCHABLE = ["a_title", "a_summary", "a_meta", "a_body", "a_anchor"]  # in order of importance
RETRIEVE = ["type", "id", "title", "url", "summary", "body"]
DISPLAYED = ["key", *RETRIEVE]
FILTERABLE = [
    "key",
    "type",
    "visibility",
    "forms",
    *(f"f_{name}" for name in FACETS),
    *(f"fk_{name}" for name in FACETS),
]
SORTABLE = ["title"]
MAX_TOTAL_HITS = 10_000
MAX_LIMIT = 1_000
MAX_Q_WORDS = 10  # Meilisearch reads only the first ten words of q (docs: known limitations)
MAX_EXPANSIONS = 8  # facet searches per query (prefix and typo expansion)
# Settings whose list order has no meaning: Meilisearch answers them sorted, so they are compared as sets.
UNORDERED = frozenset({"filterableAttributes", "sortableAttributes", "stopWords"})


def meili_string(value: str) -> str:
    """A value as a Meilisearch filter string literal: the only way user text reaches a filter."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def facet_key(value: str) -> str:
    return " ".join(value.split()).casefold()


def document_key(type_: str, id_: str) -> str:
    """Meilisearch ids allow only [A-Za-z0-9_-]; ours may hold anything (file paths), so hash them."""
    return f"{type_}-{hashlib.blake2b(f'{type_}:{id_}'.encode(), digest_size=12).hexdigest()}"


def to_meili(doc: Document) -> dict[str, Any]:
    indexed = indexed_fields(doc)
    body, a_title, a_summary, a_body, a_meta = indexed.body, *indexed.analysed
    forms = sorted(indexed.words())
    out: dict[str, Any] = {
        "key": document_key(doc.type, doc.id),
        **stored_fields(doc, body),
        "boost": doc.boost,
        "a_title": a_title,
        "a_summary": a_summary,
        "a_body": a_body,
        "a_meta": a_meta,
        "a_anchor": ANCHOR,
        "forms": forms,
    }
    for name, values in doc.facet_values().items():
        out[f"f_{name}"] = values
        out[f"fk_{name}"] = [facet_key(v) for v in values]
    return out


def index_settings() -> dict[str, Any]:
    synonyms: dict[str, list[str]] = {}
    for group in synonym_groups():
        # (without stop words, as the analysis's synonyms: a query has none, and the index neither)
        forms = [" ".join(stem(w) for w in alt.replace("-", " ").split() if w not in stopwords()) for alt in group]
        for form in forms:
            synonyms[form] = [f for f in forms if f != form]
    return {
        "searchableAttributes": SEARCHABLE,
        "displayedAttributes": DISPLAYED,
        "filterableAttributes": FILTERABLE,
        "sortableAttributes": SORTABLE,
        "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness", "boost:desc"],
        "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 8}},
        "stopWords": sorted({stem(w) for w in stopwords()}),
        "synonyms": synonyms,
        "faceting": {"maxValuesPerFacet": 200},
        "pagination": {"maxTotalHits": MAX_TOTAL_HITS},
    }


def settings_differ(current: Any, wanted: Any, unordered: bool = False) -> bool:
    """Whether the index's settings (as `get_settings` answers them) lack any of ours. Keys Meilisearch adds
    (defaults we do not set) are ignored, except in `synonyms` (a whole map); the lists of UNORDERED settings
    and of synonyms compare as sets."""
    if isinstance(wanted, dict):
        if not isinstance(current, dict):
            return True
        if unordered and set(current) != set(wanted):  # synonyms: an extra word is a difference
            return True
        return any(
            settings_differ(current.get(k), v, unordered or k in UNORDERED or k == "synonyms")
            for k, v in wanted.items()
        )
    if isinstance(wanted, list):
        if not isinstance(current, list):
            return True
        if unordered:
            return sorted(map(str, current)) != sorted(map(str, wanted))
        return current != wanted
    return bool(current != wanted)


def page_window(offset: int, limit: int) -> tuple[int, int, int]:
    """(page, hitsPerPage, how many hits of that page to skip) for the hits offset … offset+limit-1.

    Meilisearch answers exact totals only with `page`/`hitsPerPage`; the smallest page size of at least
    `limit` whose page holds the whole window is chosen (offset+limit always works, as page 1). Meilisearch
    returns no hit past `maxTotalHits`, so a larger offset is cut to it (`search` then answers no hits).
    """
    limit = min(max(1, limit), MAX_LIMIT)
    offset = min(max(0, offset), MAX_TOTAL_HITS)
    for size in range(limit, offset + limit + 1):
        if offset // size == (offset + limit - 1) // size:
            return offset // size + 1, size, offset % size
    raise AssertionError("unreachable: offset + limit always fits on page 1")  # pragma: no cover


def term_prefix(term: QueryTerm) -> str | None:
    """The shortest prefix form of a term: every longer one is reached through it."""
    prefixes = sorted((p for p in term.prefixes if p), key=len)
    return prefixes[0] if prefixes else None


def term_clause(term: QueryTerm, expansions: Iterable[str] = ()) -> str | None:
    """A filter expression true for a document holding any form of this term, or None when it has none."""
    forms = list(dict.fromkeys(f for f in [*term.all_exact(), *term.prefixes, *expansions] if f))
    alternatives: list[str] = []
    if forms:
        alternatives.append("forms IN [" + ", ".join(meili_string(f) for f in forms) + "]")
    for phrase in term.phrases:
        words = list(dict.fromkeys(w for w in phrase if w))
        if len(words) == 1 and words[0] not in forms:
            alternatives.append(f"forms = {meili_string(words[0])}")
        elif len(words) > 1:
            alternatives.append("(" + " AND ".join(f"forms = {meili_string(w)}" for w in words) + ")")
    return " OR ".join(alternatives) if alternatives else None


def match_filter(query: AnalyzedQuery, expansions: dict[int, list[str]] | None = None) -> str | None:
    """Documents holding a form of at least one term; None when no term has a form."""
    clauses = [c for i, t in enumerate(query.terms) if (c := term_clause(t, (expansions or {}).get(i, [])))]
    if not clauses:
        return None
    return " OR ".join(f"({c})" for c in clauses)


def query_text(query: AnalyzedQuery) -> str:
    """The q for ranking: the anchor, then the first form of every term, then second forms, … (ten words)."""
    per_term = []
    for term in query.terms:
        exact = [*term.exact[1:2], *term.exact[:1], *term.exact[2:]]  # the stem first: it covers inflections
        forms = [*exact, *(w for phrase in term.phrases for w in phrase)]
        per_term.append(list(dict.fromkeys(f for f in forms if f)))
    words: list[str] = [ANCHOR]
    depth = 0
    while len(words) < MAX_Q_WORDS and any(depth < len(forms) for forms in per_term):
        for forms in per_term:
            if depth < len(forms) and forms[depth] not in words and len(words) < MAX_Q_WORDS:
                words.append(forms[depth])
        depth += 1
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
    """Visibility and facet clauses (ANDed: Meilisearch ANDs the strings of a filter array)."""
    clauses = [c for c in [visibility_filter(query.viewer)] if c]
    for name, value in sorted(query.filters.items()):
        if name in FACETS and value:
            clauses.append(f"fk_{name} = {meili_string(facet_key(value))}")
    return clauses


def search_params(
    query: SearchQuery, analyzed: AnalyzedQuery, expansions: dict[int, list[str]] | None = None
) -> tuple[dict[str, Any], int] | None:
    """(the search body less q, hits to skip of the page); None when the query can match nothing."""
    page, hits_per_page, skip = page_window(query.offset, query.limit)
    params: dict[str, Any] = {
        "page": page,
        "hitsPerPage": hits_per_page,
        "facets": [f"f_{name}" for name in FACETS],
        "attributesToRetrieve": RETRIEVE,
        "showRankingScore": True,
    }
    clauses = search_filter(query)
    if analyzed.empty:
        params["sort"] = ["title:asc"]
    else:
        matching = match_filter(analyzed, expansions)
        if matching is None:
            return None
        clauses.append(matching)
        params["matchingStrategy"] = "last"
    if clauses:
        params["filter"] = clauses
    return params, skip


def facets_of(raw: dict[str, Any]) -> dict[str, dict[str, int]]:
    distribution = raw.get("facetDistribution") or {}
    return {name: {str(k): int(v) for k, v in (distribution.get(f"f_{name}") or {}).items()} for name in FACETS}


class MeiliBackend(SearchBackend):
    name = "meilisearch"

    def __init__(self, url: str, api_key: str | None = None, index: str = "rpabank", client: Any = None) -> None:
        if client is None:
            import meilisearch

            client = meilisearch.Client(url, api_key, timeout=30)
        self.client = client
        self.uid = index
        self._ready = False

    # -------------------------------------------------------- engine calls

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one client call; any failure of the engine or the wire becomes SearchError."""
        import requests
        from meilisearch.errors import MeilisearchApiError, MeilisearchError

        try:
            return fn(*args, **kwargs)
        except MeilisearchApiError as exc:
            code = getattr(exc, "code", None) or getattr(exc, "status_code", "?")
            raise SearchError(f"Meilisearch refused to {what} [{code}]: {exc.message}") from exc
        except MeilisearchError as exc:  # communication errors, timeouts
            raise SearchError(f"Meilisearch could not be reached to {what}: {exc}") from exc
        except (requests.RequestException, OSError, ValueError) as exc:  # wire errors, unreadable JSON
            raise SearchError(f"Meilisearch failed to {what}: {type(exc).__name__}: {exc}") from exc

    def _wait(self, task_info: Any, timeout_ms: int = TASK_TIMEOUT_MS) -> None:
        uid = getattr(task_info, "task_uid", None)
        task = self._call(
            f"finish task {uid}", self.client.wait_for_task, uid, timeout_in_ms=timeout_ms, interval_in_ms=50
        )
        if getattr(task, "status", None) != "succeeded":
            error = getattr(task, "error", None) or {}
            raise SearchError(
                f"Meilisearch task {uid} ({getattr(task, 'type', '?')}) {getattr(task, 'status', '?')}: "
                f"{error.get('message', 'no message')} [{error.get('code', '?')}]"
            )

    def _exists(self, uid: str) -> bool:
        try:
            self._call(f"look up index {uid}", self.client.get_index, uid)
            return True
        except SearchError as exc:
            if getattr(exc.__cause__, "code", None) == "index_not_found":
                return False
            raise

    def _apply_settings(self, uid: str) -> None:
        """Push the settings only when the index's differ from ours (each push re-indexes)."""
        wanted = index_settings()
        current = self._call("read index settings", self.client.index(uid).get_settings)
        if settings_differ(current, wanted):
            self._wait(self._call("apply index settings", self.client.index(uid).update_settings, wanted))

    def _create(self, uid: str) -> None:
        self._wait(self._call("create an index", self.client.create_index, uid, {"primaryKey": "key"}))
        self._apply_settings(uid)

    def ensure_index(self) -> None:
        if self._ready:
            return
        if not self._exists(self.uid):
            self._create(self.uid)
        else:
            self._apply_settings(self.uid)
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
            # errors of `documents` itself (the database) pass through as they are
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
        try:
            return int(getattr(stats, "number_of_documents", 0))
        except (TypeError, ValueError) as exc:
            raise SearchError(f"Meilisearch answered unreadable index stats: {exc}") from exc

    def expand(self, analyzed: AnalyzedQuery) -> dict[int, list[str]]:
        """Index forms reached by each term's shortest prefix, typos allowed (facet search on `forms`)."""
        index = self.client.index(self.uid)
        out: dict[int, list[str]] = {}
        for i, term in enumerate(analyzed.terms[:MAX_EXPANSIONS]):
            prefix = term_prefix(term)
            if not prefix:
                continue
            raw = self._call("search the index forms", index.facet_search, "forms", prefix)
            try:
                out[i] = [str(hit["value"]) for hit in raw.get("facetHits", [])]
            except (AttributeError, KeyError, TypeError) as exc:
                raise SearchError(f"Meilisearch answered an unreadable facet search: {exc}") from exc
        return out

    def search(self, query: SearchQuery) -> SearchResult:
        self.ensure_index()
        analyzed = parse_query(f"{query.text} {query.context}".strip())  # no document counts here: every word
        planned = search_params(query, analyzed, self.expand(analyzed) if not analyzed.empty else None)
        if planned is None:
            return SearchResult(total=0, hits=[], facets={name: {} for name in FACETS})
        params, skip = planned
        q = "" if analyzed.empty else query_text(analyzed)
        raw = self._call("search", self.client.index(self.uid).search, q, params)
        want = min(max(0, query.limit), MAX_LIMIT) if query.offset < MAX_TOTAL_HITS else 0
        try:
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
                for h in raw.get("hits", [])[skip : skip + want]
            ]
            total = int(raw["totalHits"])
            facets = facets_of(raw)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise SearchError(f"Meilisearch answered an unreadable search result: {exc!r}") from exc
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
