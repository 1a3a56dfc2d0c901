"""The embedded search backend: SQLite FTS5 in files of the data folder.

Layout: `<dir>/current` names the live index file (`index-<stamp>.sqlite3`). A rebuild writes a new file and
then replaces `current` atomically, so searches never see a half-built index and an interrupted rebuild
leaves the old one live. Documents are stored as their analysed forms (see `search.analysis`); the
original text is kept beside them for snippets.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from search.analysis import AnalyzedQuery, QueryTerm, allowed_typos, analyze, parse_query
from search.backends.base import SearchBackend, SearchError
from search.documents import FACETS, Document, Hit, SearchQuery, SearchResult, Viewer, municipality_visibility
from search.snippets import plain_text, snippet

# title > summary > the rest (systems, technologies, tags, names) > description
WEIGHTS = (10.0, 5.0, 1.0, 2.5)
SCHEMA = """
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
CREATE TABLE IF NOT EXISTS facets (rowid INTEGER NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL,
                                   vkey TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS facets_by_value ON facets (facet, vkey, rowid);
CREATE INDEX IF NOT EXISTS facets_by_row ON facets (rowid);
INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0');
"""
BATCH = 500


def fts5_quote(token: str) -> str:
    """One FTS5 string token: the only way text reaches a MATCH expression."""
    return '"' + token.replace('"', '""') + '"'


def match_group(term: QueryTerm) -> str | None:
    """An FTS5 expression matching any form of one query term, or None when it has none."""
    alternatives = [fts5_quote(form) for form in dict.fromkeys(term.all_exact()) if form]
    alternatives += [fts5_quote(form) + " *" for form in dict.fromkeys(term.prefixes) if form]
    for phrase in term.phrases:
        tokens = [fts5_quote(w) for w in phrase if w]
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
        candidates = [t for n in range(len(form) - distance, len(form) + distance + 1)
                      for t in self.by_length.get(n, ())]
        found = extract(form, candidates, scorer=OSA.distance, score_cutoff=distance, limit=limit)
        return [term for term, _score, _ in found]


class Fts5Backend(SearchBackend):
    name = "sqlite-fts5"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pointer = self.directory / "current"
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._vocab: tuple[tuple[str, str], _Vocabulary] | None = None
        if not self.pointer.exists():
            self._swap_in(self._new_index_file())

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
            chunk = keys[i:i + BATCH]
            marks = ",".join("?" * len(chunk))
            rows = [r[0] for r in conn.execute(f"SELECT rowid FROM docs WHERE key IN ({marks})", chunk)]
            if not rows:
                continue
            row_marks = ",".join("?" * len(rows))
            conn.execute(f"DELETE FROM fts WHERE rowid IN ({row_marks})", rows)
            conn.execute(f"DELETE FROM facets WHERE rowid IN ({row_marks})", rows)
            conn.execute(f"DELETE FROM docs WHERE rowid IN ({row_marks})", rows)

    @staticmethod
    def _insert(conn: sqlite3.Connection, docs: list[Document]) -> None:
        for doc in docs:
            body = plain_text(doc.body)
            cur = conn.execute(
                "INSERT INTO docs (key, type, id, title, url, summary, body, visibility, boost) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (doc.key, doc.type, doc.id, doc.title, doc.url, doc.summary, body, doc.visibility, doc.boost),
            )
            rowid = cur.lastrowid
            conn.execute(
                "INSERT INTO fts (rowid, title, summary, body, meta) VALUES (?, ?, ?, ?, ?)",
                (rowid, analyze(doc.title), analyze(doc.summary), analyze(body), analyze(doc.meta)),
            )
            conn.executemany(
                "INSERT INTO facets (rowid, facet, value, vkey) VALUES (?, ?, ?, ?)",
                [(rowid, name, value, _facet_key(value))
                 for name, values in doc.facet_values().items() for value in values],
            )

    @staticmethod
    def _bump(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    # -------------------------------------------------------- reading

    def count(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM docs").fetchone()[0])

    def _vocabulary(self, conn: sqlite3.Connection) -> _Vocabulary:
        generation = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
        stamp = (str(self._current_path()), str(generation))
        cached = self._vocab
        if cached is not None and cached[0] == stamp:
            return cached[1]
        vocab = _Vocabulary([row[0] for row in conn.execute("SELECT term FROM vocab")])
        self._vocab = (stamp, vocab)
        return vocab

    def expand_typos(self, query: AnalyzedQuery, conn: sqlite3.Connection) -> None:
        """Give each word the index does not know the known words one or two letters away."""
        vocab = self._vocabulary(conn)
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

    def _where(self, query: SearchQuery) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        clauses.append(_visibility_clause(query.viewer, params))
        for name, value in query.filters.items():
            if name not in FACETS or not value:
                continue
            clauses.append("d.rowid IN (SELECT rowid FROM facets WHERE facet = ? AND vkey = ?)")
            params += [name, _facet_key(value)]
        return " AND ".join(c for c in clauses if c) or "1", params

    def search(self, query: SearchQuery) -> SearchResult:
        conn = self._conn()
        analyzed = parse_query(query.text)
        where, params = self._where(query)
        ranked: list[tuple[int, float]]
        if analyzed.empty:
            rows = conn.execute(
                f"SELECT d.rowid FROM docs d WHERE {where} ORDER BY d.type != 'process', d.title", params
            ).fetchall()
            ranked = [(r[0], 0.0) for r in rows]
        else:
            self.expand_typos(analyzed, conn)
            all_match, any_match = match_expressions(analyzed)
            if any_match is None:
                ranked = []
            else:
                w = ", ".join(str(x) for x in WEIGHTS)
                rows = conn.execute(
                    f"SELECT d.rowid, bm25(fts, {w}) * d.boost FROM fts JOIN docs d ON d.rowid = fts.rowid "
                    f"WHERE fts MATCH ? AND {where}",
                    [any_match, *params],
                ).fetchall()
                complete: set[int] = set()
                if all_match != any_match and rows:
                    complete = {r[0] for r in conn.execute("SELECT rowid FROM fts WHERE fts MATCH ?", [all_match])}
                # documents with every word first, then by BM25 (smaller is better)
                rows.sort(key=lambda r: (r[0] not in complete, r[1]))
                ranked = [(r[0], -r[1]) for r in rows]
        total = len(ranked)
        page = ranked[query.offset: query.offset + query.limit]
        hits = self._hits(conn, page, analyzed)
        facets = self._facets(conn, [r[0] for r in ranked])
        return SearchResult(total=total, hits=hits, facets=facets)

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
            hits.append(Hit(type=type_, id=id_, title=title, url=url, score=round(score, 4),
                            snippet=snippet([summary, body], analyzed)))
        return hits

    def _facets(self, conn: sqlite3.Connection, rowids: list[int]) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {name: {} for name in FACETS}
        if not rowids:
            return counts
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS hits (rowid INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM temp.hits")
        conn.executemany("INSERT INTO temp.hits (rowid) VALUES (?)", [(r,) for r in rowids])
        rows = conn.execute(
            "SELECT f.facet, f.value, count(*) FROM facets f JOIN temp.hits h ON h.rowid = f.rowid "
            "GROUP BY f.facet, f.value ORDER BY count(*) DESC, f.value"
        ).fetchall()
        conn.execute("DELETE FROM temp.hits")
        for name, value, n in rows:
            counts.setdefault(name, {})[value] = n
        return counts


def _visibility_clause(viewer: Viewer, params: list[Any]) -> str:
    if viewer.is_admin:
        return ""
    if viewer.municipality:
        params.append(municipality_visibility(viewer.municipality))
        return "(d.visibility = 'network' OR d.visibility = ?)"
    return "d.visibility = 'network'"
