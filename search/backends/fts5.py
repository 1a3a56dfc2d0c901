"""The embedded search backend: SQLite FTS5 in files of the data folder.

Layout: `<dir>/current` names the live index file (`index-<stamp>.sqlite3`). A rebuild writes a new file and
then replaces `current` atomically, so searches never see a half-built index and an interrupted rebuild
leaves the old one live. Documents are indexed as their analysed forms (see `search.analysis`); the
original text is kept beside them for snippets.

The FTS5 table is contentless (`content=''`): it holds the inverted index only, not a second copy of the
analysed text (that copy was half the file). Removing a document from such a table takes the very values it
was indexed with, so they are kept compressed (zstd) in `analysed`; they are never computed again, so a change
to the analysis cannot unbalance the index. A write (not a rebuild) keeps them as what FTS5's removal reads of
them: each field's number of tokens and the document's distinct words (`_pack_terms`), which are its words to
count for the vocabulary too. The body kept for snippets is compressed too.

Several processes (app instances, workers, `rpabank reindex`) may share the folder:

- A rebuild holds an exclusive `flock` on `<dir>/rebuild.lock`, so rebuilds run one at a time. Index files
  are only made under that lock, so the rebuild that holds it may remove every file but the current one.
- A process follows `current` on every call: a connection to a replaced file is closed and the new one
  opened (a file removed meanwhile stays readable through the open connection until then).
- While a rebuild runs, the old file is marked `rebuilding` and every upsert/delete made to it is also
  written to its `journal` table. Before the swap the rebuild replays the journal into the new file, the
  last part while holding the old file's write lock; a writer that was waiting for that lock sees that
  `current` has moved on and writes the new file instead. No write made during a rebuild is lost.
- `terms` counts the documents of each indexed term (kept by every write), and `changed_docs` /
  `changed_terms` log which rows and terms each generation touched (a generation's terms in one row, separated
  by spaces: an FTS5 token holds none). A process's in-memory snapshot (facets, browse order, typo vocabulary)
  is loaded once per file and then moved forward by those logs, so the first search after a one-document write
  costs a few small queries, not a reload of the whole vocabulary.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import dataclasses
import fcntl
import hashlib
import heapq
import json
import os
import re
import sqlite3
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import chain, islice
from pathlib import Path
from typing import Generic, TypeVar

import zstandard
from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from search import documents
from search.analysis import AnalyzedQuery, QueryTerm, allowed_typos, corrections, distinctive, parse_query
from search.backends.base import SearchBackend, SearchError
from search.documents import FACETS, NETWORK, Document, Hit, SearchQuery, SearchResult, Viewer, municipality_visibility
from search.fields import indexed_fields, make_hit

# title > summary > the rest (systems, technologies, tags, names) > description; the facet tokens do not score
WEIGHTS = (10.0, 5.0, 1.0, 2.5, 0.0)
SCHEMA_VERSION = "5"
TOKENIZE = "unicode61 remove_diacritics 0"
SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    summary TEXT NOT NULL,
    body BLOB NOT NULL,
    visibility TEXT NOT NULL,
    boost REAL NOT NULL DEFAULT 1.0
);
CREATE TABLE IF NOT EXISTS analysed (rowid INTEGER PRIMARY KEY, fields BLOB NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    title, summary, body, meta, facets, content = '', tokenize = '"""
    + TOKENIZE
    + """'
);
CREATE VIRTUAL TABLE IF NOT EXISTS vocab USING fts5vocab(fts, 'row');
CREATE TABLE IF NOT EXISTS facet_values (id INTEGER PRIMARY KEY, facet TEXT NOT NULL, value TEXT NOT NULL,
                                         vkey TEXT NOT NULL, UNIQUE (facet, value));
CREATE TABLE IF NOT EXISTS doc_facets (rowid INTEGER NOT NULL, value_id INTEGER NOT NULL,
                                       PRIMARY KEY (rowid, value_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changed_docs (gen INTEGER NOT NULL, doc INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS changed_docs_by_gen ON changed_docs (gen);
CREATE TABLE IF NOT EXISTS changed_terms (gen INTEGER NOT NULL, term TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS changed_terms_by_gen ON changed_terms (gen);
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, doc TEXT);
INSERT OR IGNORE INTO meta (key, value) VALUES ('log_floor', '0');
INSERT OR IGNORE INTO meta (key, value) VALUES ('rebuilding', '');
INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0');
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '"""
    + SCHEMA_VERSION
    + """');
"""
)
BATCH = 500
FIELD_SEPARATOR = "\n"  # between the analysed fields in `analysed` (analysed text is words and spaces only)
AUTOMERGE = 4  # FTS5's default; a rebuild fills with it off and merges once at the end ('optimize')
EXACT_COUNT = documents.EXACT_COUNT
KEEP_GENERATIONS = 1000  # how far back the change log reaches (older snapshots are loaded anew)
PRUNE_EVERY = 100
MAX_READ = 20 * EXACT_COUNT  # matches read at most for a search whose filters keep few of them
T = TypeVar("T")


PREFIX_WORDS = 32  # a prefix that starts at most this many words of the index is searched as those words

# how many index tokens apart the words of a phrase may stand (each word gives two to four forms: three to five words)
NEAR = 10


VOCABULARY_DELTA = 20_000  # terms added or removed since the vocabulary was loaded, before they are merged in


def fts5_quote(token: str) -> str:
    """One FTS5 string token: the only way text reaches a MATCH expression."""
    return '"' + token.replace('"', '""') + '"'


Expand = Callable[[str], "list[str] | None"]


def _no_expansion(_: str) -> list[str] | None:
    return None


def prefix_alternatives(prefix: str, expand: Expand) -> list[str]:
    """A prefix as FTS5 alternatives: the index's words that start with it when there are few (`expand`), else
    the prefix query itself. FTS5 answers a prefix by merging the lists of every word it starts into one list of
    all their documents before it returns the first; a few words are read lazily, as far as a search reads."""
    words = expand(prefix)
    if words is None:
        return [fts5_quote(prefix) + " *"]
    return [fts5_quote(word) for word in words]


def match_group(term: QueryTerm, whole_words: bool = False, expand: Expand = _no_expansion) -> str | None:
    """An FTS5 expression matching any form of one query term, or None when it has none; with `whole_words`,
    only the forms that match a whole word (not the parts of a compound or the words of a phrase).

    A prefix makes every longer form starting with it redundant; those are left out, since each
    alternative costs scoring time on every matching document.
    """
    whole, prefixes = term.whole_words() if whole_words else term.reduced()
    alternatives = [fts5_quote(form) for form in whole]
    for prefix in prefixes:
        alternatives += [a for a in prefix_alternatives(prefix, expand) if a not in alternatives]
    if not alternatives and prefixes:  # no word of the index starts with it: nothing can match
        alternatives = [fts5_quote(prefixes[0])]
    if whole_words:
        return "(" + " OR ".join(alternatives) + ")" if alternatives else None
    for phrase in term.phrases:
        tokens = [fts5_quote(w) for w in dict.fromkeys(phrase) if w]
        if len(tokens) == 1:
            alternatives.append(tokens[0])
        elif tokens:
            alternatives.append(f"NEAR({' '.join(tokens)}, {NEAR})")
    for phrase in term.prefix_phrases:  # a half-typed compound: bank + afst…
        tokens = [fts5_quote(w) for w in phrase[:-1] if w] + [fts5_quote(phrase[-1]) + " *"]
        alternatives.append(f"NEAR({' '.join(tokens)}, {NEAR})" if len(tokens) > 1 else tokens[0])
    if not alternatives:
        return None
    return "(" + " OR ".join(alternatives) + ")"


def match_expressions(query: AnalyzedQuery, expand: Expand = _no_expansion) -> tuple[str | None, str | None]:
    """(every term must match, any term may match); the same when there is one term."""
    groups = [g for g in (match_group(t, expand=expand) for t in query.terms) if g]
    if not groups:
        return None, None
    if len(groups) == 1:
        return groups[0], groups[0]
    return " AND ".join(groups), " OR ".join(groups)


def whole_word_expression(query: AnalyzedQuery, expand: Expand = _no_expansion) -> str | None:
    """Every term matched by a whole word (`fremmødetolkning` itself, not fremmøde … tolkning), or None when a
    term has no such form: the documents that rank first."""
    groups = [match_group(t, whole_words=True, expand=expand) for t in query.terms]
    if not groups or None in groups:
        return None
    return " AND ".join(g for g in groups if g)


def _facet_key(value: str) -> str:
    return " ".join(value.split()).casefold()


FACET_TOKEN = "zzf"  # facet tokens are this and 16 hex digits; never a word of the vocabulary


@lru_cache(maxsize=4096)
def facet_token(name: str, value: str) -> str:
    """The token in the `facets` column of a document with this facet value (values compared as filters do)."""
    return FACET_TOKEN + hashlib.blake2b(f"{name}:{_facet_key(value)}".encode(), digest_size=8).hexdigest()


def facet_tokens(facets: dict[str, list[str]]) -> str:
    return " ".join(dict.fromkeys(facet_token(name, value) for name, values in facets.items() for value in values))


def facet_filter(tokens: Sequence[str]) -> str:
    """An FTS5 expression for documents with every one of these facet tokens: the filters are applied inside the
    index, before any document is scored."""
    return " AND ".join(f"facets : {fts5_quote(token)}" for token in tokens)


class _Vocabulary:
    """The index's terms, for typo tolerance: sorted, and bucketed by first letter and length.

    Loaded once per index file from the `terms` table; after that a write changes it by the terms it added or
    removed (`changed`): the loaded list is shared and never copied, the changes since are kept beside it (merged
    into a new list only when they grow past VOCABULARY_DELTA), so a write costs in proportion to what it changed,
    not to the vocabulary. A word is corrected only into words with its first letter (as search engines commonly
    require): the words compared stay a small share of the vocabulary, however large it grows.
    """

    def __init__(
        self,
        terms: list[str],
        buckets: dict[tuple[str, int], list[str]] | None = None,
        added: list[str] | None = None,
        removed: frozenset[str] = frozenset(),
    ) -> None:
        self.sorted = terms  # shared between generations: never changed
        self.added = added or []  # sorted; not in `sorted`
        self.removed = removed  # in `sorted`, but gone
        if buckets is None:
            buckets = defaultdict(list)
            for term in terms:
                buckets[_bucket(term)].append(term)
        self.buckets = buckets

    def __contains__(self, form: str) -> bool:
        return form not in self.removed and (_holds(self.added, form) or _holds(self.sorted, form))

    def has_prefix(self, prefix: str) -> bool:
        i = bisect.bisect_left(self.added, prefix)
        if i < len(self.added) and self.added[i].startswith(prefix):
            return True
        i = bisect.bisect_left(self.sorted, prefix)
        while i < len(self.sorted) and self.sorted[i].startswith(prefix):
            if self.sorted[i] not in self.removed:
                return True
            i += 1
        return False

    def starting_with(self, prefix: str, limit: int) -> list[str] | None:
        """The words that start with `prefix`, in order, or None when there are more than `limit`."""
        found: list[str] = []
        for terms in (self.sorted, self.added):
            i = bisect.bisect_left(terms, prefix)
            while i < len(terms) and terms[i].startswith(prefix):
                if terms[i] not in self.removed or terms is self.added:
                    found.append(terms[i])
                    if len(found) > limit:
                        return None
                i += 1
        return sorted(found)

    def near(self, form: str, distance: int, limit: int = 6) -> list[str]:
        first = form[:1]
        candidates = [
            t for n in range(len(form) - distance, len(form) + distance + 1) for t in self.buckets.get((first, n), ())
        ]
        found = extract(form, candidates, scorer=OSA.distance, score_cutoff=distance, limit=limit)
        return [term for term, _score, _ in found]

    def changed(self, present: Iterable[str], absent: Iterable[str]) -> _Vocabulary:
        """A copy with `present` in it and `absent` out of it (this one is unchanged: searches may be using it)."""
        add = sorted({t for t in present if t not in self})
        gone = {t for t in absent if t in self}
        if not add and not gone:
            return self
        added, removed = set(self.added), set(self.removed)
        for t in add:
            if t in removed:  # back in the loaded list
                removed.discard(t)
            else:
                added.add(t)
        for t in gone:
            if t in added:
                added.discard(t)
            else:
                removed.add(t)
        buckets = dict(self.buckets)
        for key in {_bucket(t) for t in add} | {_bucket(t) for t in gone}:
            bucket = [t for t in buckets.get(key, ()) if t not in gone]
            buckets[key] = sorted(bucket + [t for t in add if _bucket(t) == key])
        if len(added) + len(removed) > VOCABULARY_DELTA:  # merge the changes in, once in a while
            return _Vocabulary(sorted([t for t in self.sorted if t not in removed] + list(added)), buckets)
        return _Vocabulary(self.sorted, buckets, sorted(added), frozenset(removed))


def _holds(terms: list[str], form: str) -> bool:
    i = bisect.bisect_left(terms, form)
    return i < len(terms) and terms[i] == form


def _bucket(term: str) -> tuple[str, int]:
    return term[:1], len(term)


@dataclasses.dataclass
class _Matches:
    """The first `cap` matches a search keeps (visible, with every filter value), with their scores; how many
    were read for them; whether they are all (`complete`: at most `cap`, so counting them is exact)."""

    rows: list[tuple[int, float]]
    read: int
    complete: bool

    @classmethod
    def collect(
        cls, scored: Iterable[tuple[int, float]], keep: Callable[[int], bool], cap: int, enough: int
    ) -> _Matches:
        """The first `cap` kept; reading stops early after MAX_READ matches once `enough` (a page) are kept."""
        rows: list[tuple[int, float]] = []
        read = 0
        for item in scored:
            if keep(item[0]):
                if len(rows) == cap:
                    return cls(rows, read, False)
                rows.append(item)
            read += 1
            if read >= MAX_READ and len(rows) >= enough:
                return cls(rows, read, False)
        return cls(rows, read, True)


def _always(_: int) -> bool:
    return True


def _marks(items: Sequence[object]) -> str:
    return ",".join("?" * len(items))


def _chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


LAYER_CHANGES = 1000  # changes a layered map keeps beside its base (or a twentieth of the base) before merging
K = TypeVar("K")
V = TypeVar("V")
SortKey = tuple[int, str, str, int]  # browse order: processes first, then by title, id (and rowid)


class _Layered(Generic[K, V]):
    """A mapping made of a shared base dict, never changed, and the changes since it was made (None: gone).

    The next generation copies only the changes; they are merged into a new base once they outgrow
    `_Layered.limit` of it, so a write costs in proportion to what it changed, not to the catalogue (amortised).
    """

    __slots__ = ("base", "changes", "size")

    def __init__(self, base: dict[K, V], changes: dict[K, V | None] | None = None, size: int | None = None) -> None:
        self.base = base
        self.changes: dict[K, V | None] = changes or {}
        self.size = len(base) if size is None else size  # how many keys have a value

    def get(self, key: K) -> V | None:
        changes = self.changes
        if changes and key in changes:
            return changes[key]
        return self.base.get(key)

    def changed(self, updates: dict[K, V | None]) -> _Layered[K, V]:
        size = self.size + sum((v is not None) - (self.get(k) is not None) for k, v in updates.items())
        changes = {**self.changes, **updates}
        if len(changes) <= max(LAYER_CHANGES, len(self.base) // 20):
            return _Layered(self.base, changes, size)
        base = dict(self.base)
        for k, v in changes.items():
            if v is None:
                base.pop(k, None)
            else:
                base[k] = v
        return _Layered(base)


class _Snapshot:
    """What one generation of the index keeps in memory: facets, visibility, boosts, browse order, vocabulary.

    Facet counting and filtering over thousands of matches is much faster here than in SQL. A snapshot is
    never changed once made: `advance` makes the next generation's from the rows the writes since then touched
    (the `changed_docs` and `changed_terms` logs), sharing what they did not touch: the per-row maps are
    layered (`_Layered`) and the browse order is the loaded order without `removed` merged with `added`, so a
    one-document write costs the next search a few small queries and copies, however large the index.
    """

    def __init__(self, path: Path, generation: int) -> None:
        self.path = path
        self.generation = generation
        self.values: dict[int, tuple[str, str]] = {}
        self.by_key: dict[tuple[str, str], int] = {}
        self.max_value_id = 0
        self.facets: _Layered[int, tuple[int, ...]] = _Layered({})
        self.hidden: _Layered[int, str] = _Layered({})  # the visibility of the rows not visible to the network
        self.boost: _Layered[int, float] = _Layered({})  # the boosts that are not 1.0
        self.sort_key: _Layered[int, SortKey] = _Layered({})
        self.order: list[SortKey] = []  # the browse order as loaded (shared, never changed)
        self.removed: frozenset[int] = frozenset()  # rows of `order` changed or gone since
        self.added: list[SortKey] = []  # rows added or changed since, sorted
        self.vocabulary: _Vocabulary | None = None  # loaded on the first search that needs it

    @property
    def documents(self) -> int:
        return self.sort_key.size

    @classmethod
    def load(cls, conn: sqlite3.Connection, path: Path, generation: int) -> _Snapshot:
        snap = cls(path, generation)
        snap._add_values(conn)
        facets: dict[int, list[int]] = defaultdict(list)
        for rowid, vid in conn.execute("SELECT rowid, value_id FROM doc_facets"):
            facets[rowid].append(vid)
        snap.facets = _Layered({r: tuple(v) for r, v in facets.items()})
        hidden: dict[int, str] = {}
        boosts: dict[int, float] = {}
        sort_key: dict[int, SortKey] = {}
        rows = conn.execute(
            "SELECT rowid, type != 'process', title, id, visibility, boost FROM docs "
            "ORDER BY type != 'process', title, id, rowid"
        )
        for rowid, not_process, title, id_, visibility, boost in rows:
            key = (not_process, title, id_, rowid)
            snap.order.append(key)
            sort_key[rowid] = key
            if visibility != NETWORK:
                hidden[rowid] = visibility
            if boost != 1.0:
                boosts[rowid] = boost
        snap.hidden, snap.boost, snap.sort_key = _Layered(hidden), _Layered(boosts), _Layered(sort_key)
        return snap

    def _add_values(self, conn: sqlite3.Connection) -> None:
        for vid, facet, value, vkey in conn.execute(
            "SELECT id, facet, value, vkey FROM facet_values WHERE id > ? ORDER BY id", (self.max_value_id,)
        ):
            self.values[vid] = (facet, value)
            self.by_key[(facet, vkey)] = vid
            self.max_value_id = vid

    def browse(self) -> Iterator[int]:
        """The rowids in browse order."""
        return (key[3] for key in self.browse_keys())

    def advance(self, conn: sqlite3.Connection, generation: int) -> _Snapshot | None:
        """This snapshot brought up to `generation`, or None when reading everything again is the better way."""
        floor = int(conn.execute("SELECT value FROM meta WHERE key = 'log_floor'").fetchone()[0])
        if floor > self.generation:  # the log no longer reaches back to this snapshot
            return None
        rowids = [r for (r,) in conn.execute("SELECT DISTINCT doc FROM changed_docs WHERE gen > ?", (self.generation,))]
        if len(rowids) > max(2000, self.documents // 20):
            return None
        new = copy.copy(self)
        new.generation = generation
        if conn.execute("SELECT 1 FROM facet_values WHERE id > ? LIMIT 1", (self.max_value_id,)).fetchone():
            new.values, new.by_key = dict(self.values), dict(self.by_key)
            new._add_values(conn)
        if rowids:
            new._replace_rows(conn, rowids)
        if self.vocabulary is not None:
            logged = conn.execute("SELECT term FROM changed_terms WHERE gen > ?", (self.generation,))
            terms = list(dict.fromkeys(chain.from_iterable(t.split(" ") for (t,) in logged)))
            present: set[str] = set()
            for chunk in _chunks(terms):
                present.update(
                    t for (t,) in conn.execute(f"SELECT term FROM terms WHERE term IN ({_marks(chunk)})", chunk)
                )
            new.vocabulary = self.vocabulary.changed(present, [t for t in terms if t not in present])
        return new

    def _replace_rows(self, conn: sqlite3.Connection, rowids: list[int]) -> None:
        """Take these rows (changed, added or gone) as they are now in the index."""
        facets: dict[int, tuple[int, ...] | None] = dict.fromkeys(rowids)
        hidden: dict[int, str | None] = dict.fromkeys(rowids)
        boosts: dict[int, float | None] = dict.fromkeys(rowids)
        sort_key: dict[int, SortKey | None] = dict.fromkeys(rowids)
        for chunk in _chunks(rowids):
            marks = _marks(chunk)
            found: dict[int, list[int]] = defaultdict(list)
            for rowid, vid in conn.execute(f"SELECT rowid, value_id FROM doc_facets WHERE rowid IN ({marks})", chunk):
                found[rowid].append(vid)
            facets.update((r, tuple(v)) for r, v in found.items())
            for rowid, not_process, title, id_, visibility, boost in conn.execute(
                f"SELECT rowid, type != 'process', title, id, visibility, boost FROM docs WHERE rowid IN ({marks})",
                chunk,
            ):
                sort_key[rowid] = (not_process, title, id_, rowid)
                hidden[rowid] = visibility if visibility != NETWORK else None
                boosts[rowid] = boost if boost != 1.0 else None
        changed = set(rowids)
        self.removed = self.removed | {r for r in changed if r in self.sort_key.base}
        self.added = sorted([k for k in self.added if k[3] not in changed] + [k for k in sort_key.values() if k])
        self.facets = self.facets.changed(facets)
        self.hidden = self.hidden.changed(hidden)
        self.boost = self.boost.changed(boosts)
        loaded = self.sort_key.base
        self.sort_key = self.sort_key.changed(sort_key)
        if self.sort_key.base is not loaded:  # merged into a new base: the browse order too
            self.order, self.removed, self.added = list(self.browse_keys()), frozenset(), []

    def browse_keys(self) -> Iterator[SortKey]:
        """The rows' sort keys in browse order: the loaded order without the rows changed since, merged with
        them as they are now."""
        removed = self.removed
        loaded: Iterable[SortKey] = (k for k in self.order if k[3] not in removed) if removed else self.order
        return heapq.merge(loaded, self.added) if self.added else iter(loaded)

    def keep(self, viewer: Viewer, filters: list[int]) -> Callable[[int], bool]:
        """A test for one rowid: visible to this viewer and carrying every filter value."""
        hidden = self.hidden
        allowed = (
            None
            if viewer.is_admin
            else ({municipality_visibility(viewer.municipality)} if viewer.municipality else set())
        )
        facets = self.facets
        if not filters and (allowed is None or not hidden.size):
            return _always

        def test(rowid: int) -> bool:
            if allowed is not None:
                visibility = hidden.get(rowid)
                if visibility is not None and visibility not in allowed:
                    return False
            if filters:
                have = facets.get(rowid) or ()
                return all(f in have for f in filters)
            return True

        return test

    def count_facets(self, rowids: Iterable[int]) -> dict[str, dict[str, int]]:
        get = self.facets.get
        counter = Counter(chain.from_iterable(get(r) or () for r in rowids))
        out: dict[str, dict[str, int]] = {name: {} for name in FACETS}
        for vid, n in sorted(counter.items(), key=lambda item: (-item[1], self.values[item[0]][1])):
            facet, value = self.values[vid]
            out.setdefault(facet, {})[value] = n
        return out


def _open(path: Path) -> sqlite3.Connection:
    """A connection to an existing index file (never creates one: a missing file is an error)."""
    conn = sqlite3.connect(
        path.resolve().as_uri() + "?mode=rw", uri=True, timeout=30, isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def _dump(doc: Document) -> str:
    return json.dumps(dataclasses.asdict(doc), ensure_ascii=False)


def _load(text: str) -> Document:
    return Document(**json.loads(text))


def _unlink_index(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            Path(str(path) + suffix).unlink()


# zstd at its fastest level, one context per thread (making one takes longer than compressing a short text with
# it): three times as fast as zlib's fastest level on a code file or a process, and as small (within a tenth)
ZSTD_LEVEL = 1
ZLIB_FIRST_BYTE = b"\x78"  # what an index written by a version before zstd holds (a zstd frame starts with 0x28)
_codecs = threading.local()


def _compress(text: str) -> bytes:
    """Text as stored compressed: a document's body in `docs`, its analysed fields in `analysed`."""
    try:
        compressor: zstandard.ZstdCompressor = _codecs.compressor
    except AttributeError:
        compressor = _codecs.compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return compressor.compress(text.encode())


def _decompress(packed: bytes) -> str:
    if packed[:1] == ZLIB_FIRST_BYTE:
        return zlib.decompress(packed).decode()
    try:
        decompressor: zstandard.ZstdDecompressor = _codecs.decompressor
    except AttributeError:
        decompressor = _codecs.decompressor = zstandard.ZstdDecompressor()
    return decompressor.decompress(packed).decode()


def _pack(*fields: str) -> bytes:
    """A document's analysed fields, as kept in `analysed` (to remove it from the index with)."""
    return _compress(FIELD_SEPARATOR.join(fields))


# The first byte of an `analysed` record kept as terms (`_pack_terms`); `_pack`'s starts a zstd frame (0x28) or,
# written before zstd, a zlib stream (0x78).
AS_TERMS = b"\x01"


def _pack_terms(sizes: Sequence[int], words: Iterable[str], facets: str) -> bytes:
    """A document's analysed fields kept as what removing it from FTS5 takes, which is less than the fields: how
    many tokens each holds, and the distinct words of all of them. FTS5's 'delete' reads no token's column or
    position: it marks the document gone from the list of each term it is given, and takes each column's number
    of tokens off the totals that BM25 scores by. Only for fields FTS5 splits as `str.split` does (`_is_plain`)."""
    return AS_TERMS + _compress(FIELD_SEPARATOR.join([" ".join(map(str, sizes)), " ".join(words), facets]))


def _unpack(packed: bytes) -> tuple[list[str], list[str] | None]:
    """(the values to remove a document from FTS5 with: its analysed fields and facet tokens, or as many tokens in
    each field, of its words; the distinct words when kept as terms, else None)."""
    if packed[:1] != AS_TERMS:
        return _decompress(packed).split(FIELD_SEPARATOR), None
    sizes, text, facets = _decompress(packed[1:]).split(FIELD_SEPARATOR)
    words = text.split()
    again = " " + words[0] if words else ""
    values: list[str] = []
    start = 0
    for size in map(int, sizes.split()):
        taken = words[start : start + size]
        start += len(taken)
        values.append(" ".join(taken) + again * (size - len(taken)))  # its words, then the first one again
    return [*values, facets], words


def _value_id(conn: sqlite3.Connection, facet: str, value: str) -> int:
    """The id of a facet value, added when new."""
    found = conn.execute("SELECT id FROM facet_values WHERE facet = ? AND value = ?", (facet, value)).fetchone()
    if found is not None:
        return int(found[0])
    rowid = conn.execute(
        "INSERT INTO facet_values (facet, value, vkey) VALUES (?, ?, ?)", (facet, value, _facet_key(value))
    ).lastrowid
    assert rowid is not None
    return rowid


# an analysed text of lower-case ASCII words and spaces: FTS5's tokenizer splits it exactly as str.split() does
_PLAIN_TOKENS = re.compile(r"[a-z0-9 ]*")
_PLAIN_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789 "


def _is_plain(text: str) -> bool:
    """`_PLAIN_TOKENS.fullmatch(text)`, by deleting those bytes (a few times faster on a long text)."""
    return text.isascii() and not text.encode("ascii").translate(None, _PLAIN_BYTES)


def _token_counts(fields: Sequence[str]) -> list[int]:
    """How many words each of these plain texts (`_is_plain`) holds, `len(field.split())`: counted from the spaces
    between them, without making the words, where no space leads, trails or follows another (as in analysed
    text)."""
    return [
        field.count(" ") + 1
        if field and field[0] != " " and field[-1] != " " and "  " not in field
        else len(field.split())
        for field in fields
    ]


def _term_counts(conn: sqlite3.Connection, texts: list[str]) -> dict[str, int]:
    """How many of these indexed texts hold each term, as FTS5 tokenizes them: split in Python when that is
    certain to give the same (`_PLAIN_TOKENS`), else by the tokenizer itself (`_tokenizer_term_counts`)."""
    counts: Counter[str] = Counter()
    other = []
    for text in texts:
        if _is_plain(text):
            counts.update(set(text.split()))
        else:
            other.append(text)
    counts.update(_tokenizer_term_counts(conn, other))
    return dict(counts)


def _tokenizer_term_counts(conn: sqlite3.Connection, texts: list[str]) -> dict[str, int]:
    """How many of these texts hold each term, as FTS5 tokenizes them (the same tokenizer in a temporary table
    of this connection, so the term counts match the index exactly)."""
    if not texts:
        return {}
    conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.tokens USING fts5(t, tokenize = '{TOKENIZE}')")
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.token_counts USING fts5vocab(temp, tokens, 'row')")
    conn.executemany("INSERT INTO temp.tokens (t) VALUES (?)", [(t,) for t in texts])
    counts = {term: int(n) for term, n in conn.execute("SELECT term, doc FROM temp.token_counts")}
    conn.execute("DELETE FROM temp.tokens")
    return counts


def _json_strings(texts: list[str]) -> str:
    """A JSON array of these strings: joined as they are when none holds a character that JSON escapes (as no
    analysed word does), a sixth of `json.dumps`'s time; else by it."""
    joined = '","'.join(texts)
    if joined.isprintable() and joined.count('"') == 2 * len(texts) - 2 and "\\" not in joined:
        return '["' + joined + '"]' if texts else "[]"
    return json.dumps(texts)


def _apply_term_delta(conn: sqlite3.Connection, delta: Counter[str]) -> list[str]:
    """Add the per-term document count changes to `terms`; returns the terms whose count changed (among them
    those that appeared or disappeared: which ones, a snapshot looks up when it moves forward).

    A statement for each size of change, whatever the number of terms (most change by one): its terms go in as
    one JSON array, added to the counts kept; then one for the terms whose count fell to 0, removed. Reading the
    counts back, to tell which terms came and went, took longer than writing them."""
    by_change: defaultdict[int, list[str]] = defaultdict(list)
    for term, change in delta.items():
        if change:
            by_change[change].append(term)
    for change, terms in by_change.items():
        conn.execute(
            "INSERT INTO terms (term, n) SELECT value, ? FROM json_each(?) WHERE true "
            "ON CONFLICT (term) DO UPDATE SET n = n + excluded.n",
            (change, _json_strings(terms)),
        )
    fewer = [t for change, terms in by_change.items() if change < 0 for t in terms]
    if fewer:
        conn.execute(
            "DELETE FROM terms WHERE term IN (SELECT value FROM json_each(?)) AND n <= 0", (_json_strings(fewer),)
        )
    return list(chain.from_iterable(by_change.values()))


class Fts5Backend(SearchBackend):
    """The embedded backend. Several processes may share one folder; see the module's notes on concurrency."""

    name = "sqlite-fts5"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pointer = self.directory / "current"
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._snapshot_lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        if not self._current_is_usable():
            with self._rebuild_lock():  # one process makes the empty index; the others then find it
                if not self._current_is_usable():
                    self._point_to(self._new_index_file())  # empty: the app rebuilds it from the database
                    self._remove_stale()

    # -------------------------------------------------------- files and connections

    @contextlib.contextmanager
    def _rebuild_lock(self) -> Iterator[None]:
        """The exclusive lock on `<dir>/rebuild.lock`: one rebuild (or file swap) at a time, across processes."""
        with open(self.directory / "rebuild.lock", "a+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def _new_index_file(self) -> Path:
        path = self.directory / f"index-{time.time_ns()}-{os.getpid()}.sqlite3"
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
            conn.commit()
        finally:
            conn.close()
        return path

    def _point_to(self, path: Path) -> None:
        tmp = self.directory / f"current.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(path.name, "utf-8")
        os.replace(tmp, self.pointer)

    def _remove_stale(self) -> None:
        """Remove every index file but the current one. Only called with the rebuild lock held: index files are
        made only under that lock, so no other file is being built; a process still reading an old file keeps
        it open (POSIX) and moves to the current one on its next call, since `_conn` follows the pointer."""
        keep = self._pointer_name()
        for old in self.directory.glob("index-*.sqlite3*"):
            if old.name.split(".sqlite3")[0] + ".sqlite3" != keep:
                with contextlib.suppress(OSError):
                    old.unlink()
        for tmp in self.directory.glob("current.*.tmp"):
            with contextlib.suppress(OSError):
                if time.time() - tmp.stat().st_mtime > 60:
                    tmp.unlink()

    def _current_is_usable(self) -> bool:
        try:
            conn = _open(self._current_path())
        except (SearchError, sqlite3.Error):
            return False
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            return row is not None and row[0] == SCHEMA_VERSION
        except sqlite3.DatabaseError:
            return False
        finally:
            conn.close()

    def _pointer_name(self) -> str:
        try:
            return self.pointer.read_text("utf-8").strip()
        except FileNotFoundError as exc:
            raise SearchError(f"the search index in {self.directory} is missing; run `rpabank reindex`") from exc

    def _current_path(self) -> Path:
        return self.directory / self._pointer_name()

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection to the current index file, opened again when `current` has moved on."""
        for _ in range(10):
            path = self._current_path()
            cached: tuple[Path, sqlite3.Connection] | None = getattr(self._local, "conn", None)
            if cached is not None and cached[0] == path:
                return cached[1]
            if cached is not None:
                cached[1].close()
                self._local.conn = None
            try:
                conn = _open(path)
                conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            except sqlite3.Error as exc:
                if self._current_path() != path:
                    continue  # replaced (and removed) while we opened it: open the new one
                raise SearchError(
                    f"the search index file {path.name} is unusable ({exc}); run `rpabank reindex`"
                ) from exc
            if self._current_path() != path:
                conn.close()
                continue
            self._local.conn = (path, conn)
            return conn
        raise SearchError("the search index is being replaced over and over; try again")

    def close(self) -> None:
        cached = getattr(self._local, "conn", None)
        if cached is not None:
            cached[1].close()
            self._local.conn = None

    # -------------------------------------------------------- writing

    def upsert(self, documents: Iterable[Document]) -> None:
        docs = list(documents)
        if docs:
            self._write([d.key for d in docs], docs)

    def delete(self, keys: Iterable[tuple[str, str]]) -> None:
        wanted = [f"{t}:{i}" for t, i in keys]
        if wanted:
            self._write(wanted, [])

    def _write(self, keys: list[str], docs: list[Document]) -> None:
        """Delete `keys`, insert `docs`, in the current file. While a rebuild runs, the change is also written to
        the file's journal, which the rebuild replays into the new file before it swaps it in (an upsert as the
        documents, a delete as their keys)."""
        with self._write_lock:
            for _ in range(10):
                conn = self._conn()
                path: Path = self._local.conn[0]
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    if self._current_path() != path:
                        conn.execute("ROLLBACK")  # swapped out while we waited for the lock: write the new one
                        continue
                    self._apply(conn, keys, docs)
                    if conn.execute("SELECT value FROM meta WHERE key = 'rebuilding'").fetchone()[0]:
                        if self._rebuild_running():
                            journal = [(d.key, _dump(d)) for d in docs] if docs else [(k, None) for k in keys]
                            conn.executemany("INSERT INTO journal (key, doc) VALUES (?, ?)", journal)
                        else:  # left by a rebuild that died: nobody will replay it
                            conn.execute("UPDATE meta SET value = '' WHERE key = 'rebuilding'")
                            conn.execute("DELETE FROM journal")
                    conn.execute("COMMIT")
                    return
                except sqlite3.Error:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    if self._current_path() != path:
                        continue  # the file was replaced (and perhaps removed) under us
                    raise
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            raise SearchError("the search index is being replaced over and over; try again")

    def _rebuild_running(self) -> bool:
        """Whether some process (this one included) holds the rebuild lock."""
        with open(self.directory / "rebuild.lock", "a+b") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            return False

    def rebuild(self, documents: Iterable[Document]) -> int:
        with self._rebuild_lock():
            old = self._start_journal()
            try:
                path = self._new_index_file()
                swapped = False
                try:
                    count = self._fill(path, documents)
                    conn = _open(path)
                    try:
                        swapped = self._catch_up_and_swap(old, conn, path)
                    finally:
                        conn.close()
                except BaseException:
                    if not swapped:
                        _unlink_index(path)
                        if old is not None:
                            with contextlib.suppress(sqlite3.Error):
                                old.execute("UPDATE meta SET value = '' WHERE key = 'rebuilding'")
                                old.execute("DELETE FROM journal")
                    raise
            finally:
                if old is not None:
                    old.close()
            self._remove_stale()
        return count

    def _start_journal(self) -> sqlite3.Connection | None:
        """Mark the current file as being rebuilt, so writes to it from now on are journaled as well."""
        try:
            old = _open(self._current_path())
        except (SearchError, sqlite3.Error):
            return None  # nothing (usable) to carry over
        try:
            old.execute("BEGIN IMMEDIATE")
            old.execute("DELETE FROM journal")
            old.execute("UPDATE meta SET value = '1' WHERE key = 'rebuilding'")
            old.execute("COMMIT")
        except sqlite3.Error:
            old.close()
            return None
        return old

    def _fill(self, path: Path, documents: Iterable[Document]) -> int:
        """Index the documents into the new file, a chunk at a time (they may be a generator of any length)."""
        conn = _open(path)
        try:
            count = 0
            it = iter(documents)
            # no merging of index segments while filling (FTS5 still merges when a level grows past
            # 'crisismerge'): one merge at the end ('optimize') is about half the work of merging as it goes
            conn.execute("INSERT INTO fts (fts, rank) VALUES ('automerge', 0)")
            # The file is not live until the swap; the checkpoint at the end writes it out and syncs it.
            conn.execute("PRAGMA synchronous = OFF")
            while batch := list(islice(it, BATCH)):
                conn.execute("BEGIN")
                self._insert(conn, batch)
                conn.execute("COMMIT")
                count += len(batch)
            conn.execute("BEGIN")
            conn.execute(  # the words: the facet tokens are no words
                f"INSERT INTO terms (term, n) SELECT term, doc FROM vocab WHERE term NOT GLOB '{FACET_TOKEN}*'"
            )
            self._bump(conn)
            conn.execute("COMMIT")
            conn.execute("INSERT INTO fts(fts) VALUES ('optimize')")
            conn.execute("INSERT INTO fts (fts, rank) VALUES ('automerge', ?)", (AUTOMERGE,))
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # written out and synced before anyone can use it
        finally:
            conn.close()
        return count

    def _catch_up_and_swap(self, old: sqlite3.Connection | None, conn: sqlite3.Connection, path: Path) -> bool:
        """Replay the writes made to the old file meanwhile, then point `current` at the new file. The last
        replay runs holding the old file's write lock, so no write can land in between and be lost; writers that
        were waiting then find `current` moved on and write the new file."""
        if old is None:
            self._point_to(path)
            return True
        seq = self._replay(old, conn, 0)  # most of it, while writers go on
        old.execute("BEGIN IMMEDIATE")
        try:
            self._replay(old, conn, seq)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._point_to(path)
        except BaseException:
            old.execute("ROLLBACK")
            raise
        with contextlib.suppress(sqlite3.Error):  # the swap is done; this only tidies the retired file
            old.execute("UPDATE meta SET value = '' WHERE key = 'rebuilding'")
            old.execute("DELETE FROM journal")
        with contextlib.suppress(sqlite3.Error):
            old.execute("COMMIT")
        return True

    def _replay(self, old: sqlite3.Connection, conn: sqlite3.Connection, after: int) -> int:
        rows = old.execute("SELECT seq, key, doc FROM journal WHERE seq > ? ORDER BY seq", (after,)).fetchall()
        if not rows:
            return after
        conn.execute("BEGIN")
        try:
            for _seq, key, doc in rows:
                self._apply(conn, [key], [_load(doc)] if doc is not None else [])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return int(rows[-1][0])

    def _apply(self, conn: sqlite3.Connection, keys: list[str], docs: list[Document]) -> None:
        """Delete by key and insert, in the caller's transaction: rows, facets, term counts and the change log."""
        generation = self._bump(conn)
        removed, removed_words, removed_text = self._delete_keys(conn, keys)
        added, added_words, added_text = self._insert(conn, docs, as_terms=True)
        # The words are each document's distinct words, by key; a document replaced counts only the words it
        # gained and lost (none, mostly). The texts are counted as FTS5 splits them.
        gained: list[Iterable[str]] = []
        for key, words in added_words.items():
            old = removed_words.pop(key, None)
            if old is None:
                gained.append(words)
            elif old != words:
                gained.append(words - old)
                removed_words[key] = old - words
        delta = Counter(chain.from_iterable(gained))
        delta.update(_term_counts(conn, added_text))
        delta.subtract(Counter(chain.from_iterable(removed_words.values())))
        delta.subtract(_term_counts(conn, removed_text))
        changed_terms = _apply_term_delta(conn, delta)
        conn.execute(  # one statement for the rows: binding each from Python takes longer than SQLite's JSON
            "INSERT INTO changed_docs (gen, doc) SELECT ?, value FROM json_each(?)",
            (generation, json.dumps(list(dict.fromkeys(removed + added)))),
        )
        if changed_terms:  # one row: a term holds no space
            conn.execute("INSERT INTO changed_terms (gen, term) VALUES (?, ?)", (generation, " ".join(changed_terms)))
        if generation % PRUNE_EVERY == 0 and generation > KEEP_GENERATIONS:
            floor = generation - KEEP_GENERATIONS
            conn.execute("DELETE FROM changed_docs WHERE gen <= ?", (floor,))
            conn.execute("DELETE FROM changed_terms WHERE gen <= ?", (floor,))
            conn.execute("UPDATE meta SET value = ? WHERE key = 'log_floor'", (str(floor),))

    @staticmethod
    def _delete_keys(conn: sqlite3.Connection, keys: list[str]) -> tuple[list[int], dict[str, set[str]], list[str]]:
        """Delete by key; returns the rowids, and for the term counts the distinct words of those whose words
        `str.split` finds as FTS5 does (by key) and the indexed text of the others."""
        removed: list[int] = []
        words: dict[str, set[str]] = {}
        texts: list[str] = []
        for chunk in _chunks(keys):
            key_of = dict(conn.execute(f"SELECT rowid, key FROM docs WHERE key IN ({_marks(chunk)})", chunk))
            if not key_of:
                continue
            rows = list(key_of)
            row_marks = _marks(rows)
            indexed = []
            for rowid, packed in conn.execute(f"SELECT rowid, fields FROM analysed WHERE rowid IN ({row_marks})", rows):
                values, distinct = _unpack(packed)
                indexed.append((rowid, *values))
                if distinct is None:  # kept whole (by a rebuild): its words, when str.split finds them as FTS5 does
                    text = " ".join(values[:4])  # not the facet tokens
                    if _is_plain(text):
                        words[key_of[rowid]] = set(text.split())
                    else:
                        texts.append(text)
                else:
                    words[key_of[rowid]] = set(distinct)
            # a contentless table forgets a row when told the values it was indexed with
            conn.executemany(
                "INSERT INTO fts (fts, rowid, title, summary, body, meta, facets) VALUES ('delete', ?, ?, ?, ?, ?, ?)",
                indexed,
            )
            conn.execute(f"DELETE FROM analysed WHERE rowid IN ({row_marks})", rows)
            conn.execute(f"DELETE FROM doc_facets WHERE rowid IN ({row_marks})", rows)
            conn.execute(f"DELETE FROM docs WHERE rowid IN ({row_marks})", rows)
            removed += rows
        return removed, words, texts

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, docs: list[Document], as_terms: bool = False
    ) -> tuple[list[int], dict[str, set[str]], list[str]]:
        """Insert; returns the new rowids, and for the term counts the distinct words of the documents kept as
        terms, by key (`as_terms`: those FTS5 splits as `str.split` does, see `_pack_terms`), and the indexed text
        of the others. A rebuild keeps the analysed fields whole (`_pack`: no words to count, and faster to make).

        The rowids are given here (as SQLite would: after the largest, in the caller's write transaction), so that
        each table takes all the documents in one statement."""
        first = int(conn.execute("SELECT coalesce(max(rowid), 0) + 1 FROM docs").fetchone()[0])
        rowids = list(range(first, first + len(docs)))
        fields = [indexed_fields(doc) for doc in docs]
        conn.executemany(
            "INSERT INTO docs (rowid, key, type, id, title, url, summary, body, visibility, boost) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (rowid, d.key, d.type, d.id, d.title, d.url, d.summary, _compress(f.body), d.visibility, d.boost)
                for rowid, d, f in zip(rowids, docs, fields, strict=True)
            ],
        )
        facets = [doc.facet_values() for doc in docs]
        tokens = [facet_tokens(f) for f in facets]
        conn.executemany(
            "INSERT INTO fts (rowid, title, summary, body, meta, facets) VALUES (?, ?, ?, ?, ?, ?)",
            [(rowid, *f.analysed, t) for rowid, f, t in zip(rowids, fields, tokens, strict=True)],
        )
        packed: list[bytes] = []
        words: dict[str, set[str]] = {}
        texts: list[str] = []
        for doc, f, t in zip(docs, fields, tokens, strict=True):
            analysed = f.analysed
            if not as_terms:
                packed.append(_pack(*analysed, t))
                continue
            text = " ".join(analysed)  # (plain when every field is)
            if _is_plain(text):
                distinct = words[doc.key] = f.words()
                packed.append(_pack_terms(_token_counts(analysed), distinct, t))
            else:
                packed.append(_pack(*analysed, t))
                texts.append(text)
        conn.executemany("INSERT INTO analysed (rowid, fields) VALUES (?, ?)", zip(rowids, packed, strict=True))
        value_id: dict[tuple[str, str], int] = {}  # facet values met in this call
        value_ids = []
        for rowid, doc_facets in zip(rowids, facets, strict=True):
            for name, values in doc_facets.items():
                for value in values:
                    vid = value_id.get((name, value))
                    if vid is None:
                        vid = value_id[(name, value)] = _value_id(conn, name, value)
                    value_ids.append((rowid, vid))
        conn.executemany("INSERT INTO doc_facets (rowid, value_id) VALUES (?, ?)", value_ids)
        return rowids, words, texts

    @staticmethod
    def _bump(conn: sqlite3.Connection) -> int:
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
        return int(conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    # -------------------------------------------------------- reading

    def count(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM docs").fetchone()[0])

    def snapshot(self, conn: sqlite3.Connection) -> _Snapshot:
        """The in-memory snapshot of the connection's file at its latest generation: made once per file, then
        brought forward by the rows and terms each write touched."""
        path: Path = self._local.conn[0]
        with self._snapshot_lock:
            conn.execute("BEGIN")  # one consistent view for the generation and what it reads
            try:
                generation = int(conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
                cached = self._snapshot
                if cached is not None and cached.path == path and cached.generation >= generation:
                    return cached
                snap = None
                if cached is not None and cached.path == path:
                    snap = cached.advance(conn, generation)
                if snap is None:
                    snap = _Snapshot.load(conn, path, generation)
                self._snapshot = snap
                return snap
            finally:
                conn.execute("COMMIT")

    def vocabulary(self, conn: sqlite3.Connection, snap: _Snapshot) -> _Vocabulary:
        if snap.vocabulary is None:
            with self._snapshot_lock:
                if snap.vocabulary is None:
                    snap.vocabulary = _Vocabulary(sorted(t for (t,) in conn.execute("SELECT term FROM terms")))
        return snap.vocabulary

    def expand_typos(self, query: AnalyzedQuery, conn: sqlite3.Connection) -> None:
        """Give each word the index does not know the known words one or two letters away."""
        vocab = self.vocabulary(conn, self.snapshot(conn))
        for term in query.terms:
            if not term.typos or (term.phrases and not term.exact):
                continue
            forms = term.exact[:2]
            if any(f in vocab for f in term.exact) or any(vocab.has_prefix(p) for p in term.prefixes):
                continue
            term.unknown = True
            for form in forms:
                distance = allowed_typos(form)
                if distance:
                    term.fuzzy.extend(t for t in vocab.near(form, distance) if t not in term.fuzzy)

    def search(self, query: SearchQuery) -> SearchResult:
        analyzed = parse_query(query.text)
        result = self._search(query, analyzed)
        result.corrections = corrections(analyzed)
        return result

    def _search(self, query: SearchQuery, analyzed: AnalyzedQuery) -> SearchResult:
        conn = self._conn()
        snap = self.snapshot(conn)
        filters, tokens = [], []
        for name, value in query.filters.items():
            if name in FACETS and value:
                vid = snap.by_key.get((name, _facet_key(value)))
                if vid is None:  # nobody has that value: nothing matches
                    return SearchResult(total=0, hits=[], facets={n: {} for n in FACETS})
                filters.append(vid)
                tokens.append(facet_token(name, value))
        want = query.offset + query.limit
        cap = max(EXACT_COUNT, want)
        if analyzed.empty:
            keep = snap.keep(query.viewer, filters)
            first = _Matches.collect(((r, 0.0) for r in snap.browse()), keep, cap, want)
            share = 1.0
            ranked = first.rows[:want]
        else:
            keep = snap.keep(query.viewer, [])  # the filters are part of the match expressions
            if query.context:
                context = parse_query(query.context).terms
                counts = [self._documents_of(conn, t) for t in context]
                analyzed.terms += [context[i] for i in distinctive(analyzed.terms, context, counts)]
            self.expand_typos(analyzed, conn)
            vocab = self.vocabulary(conn, snap)

            def expand(prefix: str) -> list[str] | None:
                return vocab.starting_with(prefix, PREFIX_WORDS)

            all_match, any_match = match_expressions(analyzed, expand)
            if any_match is None:
                return SearchResult(total=0, hits=[], facets={name: {} for name in FACETS})
            exact = whole_word_expression(analyzed, expand)
            if tokens:
                only = facet_filter(tokens)
                all_match, any_match = (f"({e}) AND {only}" if e else None for e in (all_match, any_match))
                assert any_match is not None
                exact = f"({exact}) AND {only}" if exact else None
            # Only the first matches are read and scored (every match when there are at most EXACT_COUNT);
            # documents with every word come first.
            first = _Matches.collect(self._scored(conn, snap, any_match), keep, cap, want)
            if all_match == any_match:
                complete = first
            elif all_match is None:
                complete = _Matches([], 0, True)
            else:
                complete = _Matches.collect(self._scored(conn, snap, all_match), keep, cap, want)
            # A document with every term as a whole word (`fremmødetolkning` itself, not fremmøde … tolkning)
            # scores WHOLE_WORD_BOOST times better; documents with every term come first.
            if exact is not None and exact != any_match:
                whole = {r for r, _ in _Matches.collect(self._scored(conn, snap, exact), keep, cap, want).rows}
                boost = documents.WHOLE_WORD_BOOST
                complete.rows = [(r, score * boost if r in whole else score) for r, score in complete.rows]
                first.rows = [(r, score * boost if r in whole else score) for r, score in first.rows]
            top = heapq.nsmallest(want, complete.rows, key=lambda item: item[1])
            if len(top) < want:
                done = {r for r, _ in top}
                partial = [item for item in first.rows if item[0] not in done]
                top += heapq.nsmallest(want - len(top), partial, key=lambda item: item[1])
            ranked = [(r, -score) for r, score in top]
            share = 1.0
            if not first.complete:
                share = self._share(conn, analyzed, snap.documents) * self._filtered_share(conn, tokens, snap.documents)
        page = ranked[query.offset : want]
        matched = [r for r, _ in first.rows]
        if first.complete:
            return SearchResult(
                total=len(matched), hits=self._hits(conn, page, analyzed), facets=snap.count_facets(matched)
            )
        # More than EXACT_COUNT: the total is estimated (documents × the share the words' document counts give ×
        # the share of those read that the filters and visibility keep), the facets from those read.
        total = max(len(matched) + 1, round(snap.documents * share * len(matched) / max(first.read, 1)))
        scale = total / max(len(matched), 1)
        facets = {
            name: {value: max(1, round(n * scale)) for value, n in counts.items()}
            for name, counts in snap.count_facets(matched).items()
        }
        return SearchResult(
            total=total,
            hits=self._hits(conn, page, analyzed),
            facets=facets,
            total_approximate=True,
            facets_approximate=True,
        )

    @staticmethod
    def _filtered_share(conn: sqlite3.Connection, tokens: list[str], documents: int) -> float:
        """About which share of the documents has every one of these facet values (taken as independent)."""
        share = 1.0
        for token in tokens:
            row = conn.execute("SELECT doc FROM vocab WHERE term = ?", (token,)).fetchone()
            share *= min((int(row[0]) if row else 0) / max(documents, 1), 1.0)
        return share

    @classmethod
    def _share(cls, conn: sqlite3.Connection, analyzed: AnalyzedQuery, documents: int) -> float:
        """About which share of the documents has at least one of the query's terms (from the terms' document
        counts, taking the terms as independent)."""
        missing = 1.0
        for term in analyzed.terms:
            missing *= 1.0 - min(cls._documents_of(conn, term) / max(documents, 1), 1.0)
        return 1.0 - missing

    @staticmethod
    def _documents_of(conn: sqlite3.Connection, term: QueryTerm) -> int:
        """About how many documents have the term: its most frequent form (a phrase: its rarest word)."""
        df = 0
        for form in term.all_exact():
            row = conn.execute("SELECT n FROM terms WHERE term = ?", (form,)).fetchone()
            df = max(df, int(row[0]) if row else 0)
        for phrase in term.phrases:  # a phrase: about as many as its rarest word
            counts = [conn.execute("SELECT n FROM terms WHERE term = ?", (w,)).fetchone() for w in phrase]
            df = max(df, min((int(c[0]) if c else 0) for c in counts) if counts else 0)
        for prefix in term.prefixes:
            row = conn.execute(
                "SELECT max(n) FROM terms WHERE term >= ? AND term < ?", (prefix, prefix + "\uffff")
            ).fetchone()
            df = max(df, int(row[0] or 0))
        return df

    @staticmethod
    def _scored(conn: sqlite3.Connection, snap: _Snapshot, match: str) -> Iterator[tuple[int, float]]:
        """(rowid, BM25 × boost) of the matches, read as they are needed; smaller is better."""
        w = ", ".join(str(x) for x in WEIGHTS)
        boost = snap.boost
        rows = conn.execute(f"SELECT rowid, bm25(fts, {w}) FROM fts WHERE fts MATCH ?", [match])
        if boost.size:
            return ((rowid, score * (boost.get(rowid) or 1.0)) for rowid, score in rows)
        return iter(rows)

    def _hits(self, conn: sqlite3.Connection, page: list[tuple[int, float]], analyzed: AnalyzedQuery) -> list[Hit]:
        if not page:
            return []
        marks = ",".join("?" * len(page))
        rows = {
            r[0]: r
            for r in conn.execute(
                f"SELECT rowid, type, id, title, url, summary, body FROM docs WHERE rowid IN ({marks})",
                [p[0] for p in page],
            )
        }
        hits = []
        for rowid, score in page:
            _, type_, id_, title, url, summary, body = rows[rowid]
            hits.append(make_hit(type_, id_, title, url, summary, _decompress(body), round(score, 4), analyzed))
        return hits
