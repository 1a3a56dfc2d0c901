"""The embedded search backend: SQLite FTS5 in files of the data folder.

Layout: `<dir>/current` names the live index file (`index-<stamp>.sqlite3`). A rebuild writes a new file and
then replaces `current` atomically, so searches never see a half-built index and an interrupted rebuild
leaves the old one live. Documents are stored as their analysed forms (see `search.analysis`); the
original text is kept beside them for snippets.
"""

from __future__ import annotations

import bisect
import contextlib
import heapq
import os
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import chain, repeat
from pathlib import Path

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from search.analysis import AnalyzedQuery, QueryTerm, allowed_typos, parse_query
from search.backends.base import SearchBackend, SearchError
from search.documents import FACETS, Document, Hit, SearchQuery, SearchResult, Viewer, municipality_visibility
from search.fields import indexed_fields, make_hit

# title > summary > the rest (systems, technologies, tags, names) > description
WEIGHTS = (10.0, 5.0, 1.0, 2.5)
SCHEMA_VERSION = "2"
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
    body TEXT NOT NULL,
    visibility TEXT NOT NULL,
    boost REAL NOT NULL DEFAULT 1.0
);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    title, summary, body, meta, tokenize = 'unicode61 remove_diacritics 0'
);
CREATE VIRTUAL TABLE IF NOT EXISTS vocab USING fts5vocab(fts, 'row');
CREATE TABLE IF NOT EXISTS facet_values (id INTEGER PRIMARY KEY, facet TEXT NOT NULL, value TEXT NOT NULL,
                                         vkey TEXT NOT NULL, UNIQUE (facet, value));
CREATE TABLE IF NOT EXISTS doc_facets (rowid INTEGER NOT NULL, value_id INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS doc_facets_by_row ON doc_facets (rowid);
INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0');
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '"""
    + SCHEMA_VERSION
    + """');
"""
)
BATCH = 500


def fts5_quote(token: str) -> str:
    """One FTS5 string token: the only way text reaches a MATCH expression."""
    return '"' + token.replace('"', '""') + '"'


def match_group(term: QueryTerm) -> str | None:
    """An FTS5 expression matching any form of one query term, or None when it has none.

    A prefix makes every longer form starting with it redundant; those are left out, since each
    alternative costs scoring time on every matching document.
    """
    prefixes = sorted({p for p in term.prefixes if p}, key=len)
    kept: list[str] = []
    for p in prefixes:
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    alternatives = [
        fts5_quote(form)
        for form in dict.fromkeys(term.all_exact())
        if form and not any(form.startswith(k) for k in kept)
    ]
    alternatives += [fts5_quote(form) + " *" for form in kept]
    for phrase in term.phrases:
        tokens = [fts5_quote(w) for w in dict.fromkeys(phrase) if w]
        if len(tokens) == 1:
            alternatives.append(tokens[0])
        elif tokens:
            alternatives.append(f"NEAR({' '.join(tokens)}, 10)")
    if not alternatives:
        return None
    return "(" + " OR ".join(alternatives) + ")"


def match_expressions(query: AnalyzedQuery) -> tuple[str | None, str | None]:
    """(every term must match, any term may match); the same when there is one term."""
    groups = [g for g in (match_group(t) for t in query.terms) if g]
    if not groups:
        return None, None
    if len(groups) == 1:
        return groups[0], groups[0]
    return " AND ".join(groups), " OR ".join(groups)


def _facet_key(value: str) -> str:
    return " ".join(value.split()).casefold()


class _Vocabulary:
    """The index's terms, for typo tolerance: bucketed by length, refreshed when the index changes."""

    def __init__(self, terms: Sequence[str]) -> None:
        self.sorted = sorted(terms)
        self.exact = set(self.sorted)
        self.by_length: dict[int, list[str]] = defaultdict(list)
        for term in self.sorted:
            self.by_length[len(term)].append(term)

    def has_prefix(self, prefix: str) -> bool:
        i = bisect.bisect_left(self.sorted, prefix)
        return i < len(self.sorted) and self.sorted[i].startswith(prefix)

    def near(self, form: str, distance: int, limit: int = 6) -> list[str]:
        candidates = [
            t for n in range(len(form) - distance, len(form) + distance + 1) for t in self.by_length.get(n, ())
        ]
        found = extract(form, candidates, scorer=OSA.distance, score_cutoff=distance, limit=limit)
        return [term for term, _score, _ in found]


def _always(_: int) -> bool:
    return True


class _Snapshot:
    """What one generation of the index keeps in memory: facets, visibility, boosts, browse order, vocabulary.

    Facet counting and filtering over thousands of matches is much faster here than in SQL.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.values: dict[int, tuple[str, str]] = {}
        self.by_key: dict[tuple[str, str], int] = {}
        for vid, facet, value, vkey in conn.execute("SELECT id, facet, value, vkey FROM facet_values"):
            self.values[vid] = (facet, value)
            self.by_key[(facet, vkey)] = vid
        facets: dict[int, list[int]] = defaultdict(list)
        for rowid, vid in conn.execute("SELECT rowid, value_id FROM doc_facets"):
            facets[rowid].append(vid)
        self.facets: dict[int, tuple[int, ...]] = {r: tuple(v) for r, v in facets.items()}
        self.visibility: dict[int, str] = dict(
            conn.execute("SELECT rowid, visibility FROM docs WHERE visibility != 'network'").fetchall()
        )
        self.boost: dict[int, float] = dict(conn.execute("SELECT rowid, boost FROM docs WHERE boost != 1.0").fetchall())
        self.browse = [r[0] for r in conn.execute("SELECT rowid FROM docs ORDER BY type != 'process', title, id")]
        self._vocabulary: _Vocabulary | None = None
        self._conn = conn

    def vocabulary(self) -> _Vocabulary:
        if self._vocabulary is None:
            self._vocabulary = _Vocabulary([row[0] for row in self._conn.execute("SELECT term FROM vocab")])
        return self._vocabulary

    def keep(self, viewer: Viewer, filters: list[int]) -> Callable[[int], bool]:
        """A test for one rowid: visible to this viewer and carrying every filter value."""
        hidden = self.visibility
        allowed = (
            None
            if viewer.is_admin
            else ({municipality_visibility(viewer.municipality)} if viewer.municipality else set())
        )
        facets = self.facets
        if not filters and (allowed is None or not hidden):
            return _always

        def test(rowid: int) -> bool:
            if allowed is not None and rowid in hidden and hidden[rowid] not in allowed:
                return False
            if filters:
                have = facets.get(rowid, ())
                return all(f in have for f in filters)
            return True

        return test

    def count_facets(self, rowids: Iterable[int]) -> dict[str, dict[str, int]]:
        counter = Counter(chain.from_iterable(map(self.facets.get, rowids, repeat(()))))
        out: dict[str, dict[str, int]] = {name: {} for name in FACETS}
        for vid, n in sorted(counter.items(), key=lambda item: (-item[1], self.values[item[0]][1])):
            facet, value = self.values[vid]
            out.setdefault(facet, {})[value] = n
        return out


class Fts5Backend(SearchBackend):
    name = "sqlite-fts5"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pointer = self.directory / "current"
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._snapshot: tuple[tuple[str, str], _Snapshot] | None = None
        if not self.pointer.exists() or not self._current_is_usable():
            self._swap_in(self._new_index_file())  # empty: the app rebuilds it from the database

    # -------------------------------------------------------- files and connections

    def _new_index_file(self) -> Path:
        path = self.directory / f"index-{time.time_ns()}.sqlite3"
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
            conn.commit()
        finally:
            conn.close()
        return path

    def _swap_in(self, path: Path) -> None:
        tmp = self.pointer.with_suffix(".tmp")
        tmp.write_text(path.name, "utf-8")
        os.replace(tmp, self.pointer)
        self._remove_stale(keep=path.name)

    def _remove_stale(self, keep: str) -> None:
        for old in self.directory.glob("index-*.sqlite3*"):
            if not old.name.startswith(keep):
                with contextlib.suppress(OSError):
                    old.unlink()

    def _current_is_usable(self) -> bool:
        path = self._current_path()
        if not path.exists():
            return False
        conn = sqlite3.connect(path)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            return row is not None and row[0] == SCHEMA_VERSION
        except sqlite3.DatabaseError:
            return False
        finally:
            conn.close()

    def _current_path(self) -> Path:
        try:
            return self.directory / self.pointer.read_text("utf-8").strip()
        except FileNotFoundError as exc:
            raise SearchError(f"the search index in {self.directory} is missing; run `rpabank reindex`") from exc

    def _conn(self) -> sqlite3.Connection:
        path = self._current_path()
        cached: tuple[Path, sqlite3.Connection] | None = getattr(self._local, "conn", None)
        if cached is not None and cached[0] == path:
            return cached[1]
        if cached is not None:
            cached[1].close()
        if not path.exists():
            raise SearchError(f"the search index file {path.name} is missing; run `rpabank reindex`")
        conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        self._local.conn = (path, conn)
        return conn

    def close(self) -> None:
        cached = getattr(self._local, "conn", None)
        if cached is not None:
            cached[1].close()
            self._local.conn = None

    # -------------------------------------------------------- writing

    def upsert(self, documents: Iterable[Document]) -> None:
        docs = list(documents)
        if not docs:
            return
        with self._write_lock:
            conn = self._conn()
            with conn:
                self._delete_keys(conn, [d.key for d in docs])
                self._insert(conn, docs)
                self._bump(conn)

    def delete(self, keys: Iterable[tuple[str, str]]) -> None:
        wanted = [f"{t}:{i}" for t, i in keys]
        if not wanted:
            return
        with self._write_lock:
            conn = self._conn()
            with conn:
                self._delete_keys(conn, wanted)
                self._bump(conn)

    def rebuild(self, documents: Iterable[Document]) -> int:
        path = self._new_index_file()
        count = 0
        try:
            conn = sqlite3.connect(path)
            try:
                batch: list[Document] = []
                for doc in documents:
                    batch.append(doc)
                    if len(batch) >= BATCH:
                        with conn:
                            self._insert(conn, batch)
                        count += len(batch)
                        batch = []
                with conn:
                    self._insert(conn, batch)
                    count += len(batch)
                    self._bump(conn)
                conn.execute("INSERT INTO fts(fts) VALUES ('optimize')")
                conn.commit()
            finally:
                conn.close()
        except BaseException:
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        with self._write_lock:
            self._swap_in(path)
        return count

    @staticmethod
    def _delete_keys(conn: sqlite3.Connection, keys: list[str]) -> None:
        for i in range(0, len(keys), BATCH):
            chunk = keys[i : i + BATCH]
            marks = ",".join("?" * len(chunk))
            rows = [r[0] for r in conn.execute(f"SELECT rowid FROM docs WHERE key IN ({marks})", chunk)]
            if not rows:
                continue
            row_marks = ",".join("?" * len(rows))
            conn.execute(f"DELETE FROM fts WHERE rowid IN ({row_marks})", rows)
            conn.execute(f"DELETE FROM doc_facets WHERE rowid IN ({row_marks})", rows)
            conn.execute(f"DELETE FROM docs WHERE rowid IN ({row_marks})", rows)

    @staticmethod
    def _insert(conn: sqlite3.Connection, docs: list[Document]) -> None:
        for doc in docs:
            body, a_title, a_summary, a_body, a_meta = indexed_fields(doc)
            cur = conn.execute(
                "INSERT INTO docs (key, type, id, title, url, summary, body, visibility, boost) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (doc.key, doc.type, doc.id, doc.title, doc.url, doc.summary, body, doc.visibility, doc.boost),
            )
            rowid = cur.lastrowid
            conn.execute(
                "INSERT INTO fts (rowid, title, summary, body, meta) VALUES (?, ?, ?, ?, ?)",
                (rowid, a_title, a_summary, a_body, a_meta),
            )
            value_ids = []
            for name, values in doc.facet_values().items():
                for value in values:
                    found = conn.execute(
                        "SELECT id FROM facet_values WHERE facet = ? AND value = ?", (name, value)
                    ).fetchone()
                    if found is None:
                        found = (
                            conn.execute(
                                "INSERT INTO facet_values (facet, value, vkey) VALUES (?, ?, ?)",
                                (name, value, _facet_key(value)),
                            ).lastrowid,
                        )
                    value_ids.append((rowid, found[0]))
            conn.executemany("INSERT INTO doc_facets (rowid, value_id) VALUES (?, ?)", value_ids)

    @staticmethod
    def _bump(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    # -------------------------------------------------------- reading

    def count(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM docs").fetchone()[0])

    def snapshot(self, conn: sqlite3.Connection) -> _Snapshot:
        generation = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
        stamp = (str(self._current_path()), str(generation))
        cached = self._snapshot
        if cached is not None and cached[0] == stamp:
            return cached[1]
        snap = _Snapshot(conn)
        self._snapshot = (stamp, snap)
        return snap

    def expand_typos(self, query: AnalyzedQuery, conn: sqlite3.Connection) -> None:
        """Give each word the index does not know the known words one or two letters away."""
        vocab = self.snapshot(conn).vocabulary()
        for term in query.terms:
            if term.phrases and not term.exact:
                continue
            forms = term.exact[:2]
            if any(f in vocab.exact for f in term.exact) or any(vocab.has_prefix(p) for p in term.prefixes):
                continue
            for form in forms:
                distance = allowed_typos(form)
                if distance:
                    term.fuzzy.extend(t for t in vocab.near(form, distance) if t not in term.fuzzy)

    def search(self, query: SearchQuery) -> SearchResult:
        conn = self._conn()
        snap = self.snapshot(conn)
        analyzed = parse_query(query.text)
        filters = []
        for name, value in query.filters.items():
            if name in FACETS and value:
                vid = snap.by_key.get((name, _facet_key(value)))
                if vid is None:  # nobody has that value: nothing matches
                    return SearchResult(total=0, hits=[], facets={n: {} for n in FACETS})
                filters.append(vid)
        keep = snap.keep(query.viewer, filters)
        want = query.offset + query.limit
        if analyzed.empty:
            matched = [r for r in snap.browse if keep(r)]
            ranked = [(r, 0.0) for r in matched[:want]]
        else:
            self.expand_typos(analyzed, conn)
            all_match, any_match = match_expressions(analyzed)
            if any_match is None:
                return SearchResult(total=0, hits=[], facets={name: {} for name in FACETS})
            if all_match == any_match:  # one word: one pass scores and counts
                scored = self._scored(conn, snap, any_match, keep)
                matched = [r for r, _ in scored]
                top = heapq.nsmallest(want, scored, key=lambda item: item[1])
            else:
                # Documents with every word come first; only when they are too few to fill the page are the
                # others (with some of the words) scored too. Counting and facets need no scores.
                matched = [r for (r,) in conn.execute("SELECT rowid FROM fts WHERE fts MATCH ?", [any_match])]
                if keep is not _always:
                    matched = [r for r in matched if keep(r)]
                complete = self._scored(conn, snap, all_match, keep)
                top = heapq.nsmallest(want, complete, key=lambda item: item[1])
                if len(top) < want:
                    done = {r for r, _ in top}
                    partial = [item for item in self._scored(conn, snap, any_match, keep) if item[0] not in done]
                    top += heapq.nsmallest(want - len(top), partial, key=lambda item: item[1])
            ranked = [(r, -score) for r, score in top]
        page = ranked[query.offset : want]
        return SearchResult(
            total=len(matched), hits=self._hits(conn, page, analyzed), facets=snap.count_facets(matched)
        )

    @staticmethod
    def _scored(
        conn: sqlite3.Connection, snap: _Snapshot, match: str | None, keep: Callable[[int], bool]
    ) -> list[tuple[int, float]]:
        """(rowid, BM25 × boost) of the visible, filtered matches; smaller is better."""
        w = ", ".join(str(x) for x in WEIGHTS)
        boost = snap.boost
        rows = conn.execute(f"SELECT rowid, bm25(fts, {w}) FROM fts WHERE fts MATCH ?", [match]).fetchall()
        if boost:
            rows = [(rowid, score * boost.get(rowid, 1.0)) for rowid, score in rows]
        return rows if keep is _always else [row for row in rows if keep(row[0])]

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
            hits.append(make_hit(type_, id_, title, url, summary, body, round(score, 4), analyzed))
        return hits
