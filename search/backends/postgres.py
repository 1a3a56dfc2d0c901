"""The PostgreSQL search backend: the index lives in `search_*` tables of the application's own database.

Documents are indexed as their analysed forms (see `search.analysis`, exactly as the FTS5 backend does), written
as explicit lexemes (PostgreSQL's own stemmers are never used) into one `tsvector`, `tsv`, kept in the row: every
lexeme of the document once, behind a GIN index, which decides what matches (so matching and counting never read
a vector); the lexemes of the title (weight A), summary (B) and meta (C) carry their weighted positions, by which
`ts_rank` scores the matches; the body's other lexemes have none (`ts_rank` counts such a lexeme once, at weight
D, as it would with its one position: each is there once).
The summary and snippet body of a type of document whose text the database keeps itself (`ExternalBody`: a
process's summary and description) are read from its own row for the page's hits; the index keeps no copy.
`search_terms` holds the vocabulary with document frequencies and a `pg_trgm` GIN index: typo candidates and
prefix lookups come from SQL, so a search never loads the vocabulary into Python.
Facets and visibility are applied in SQL before ranking. A document's facet values are kept as ids, an `integer[]`
(GIN indexed for filters), of the rows of `search_facets`: each `facet:value` as written (counted) with its
case-folded key (a filter looks up the ids of its key, so it finds every case of the value).

Every write is a short list of SQLAlchemy `text()` statements with bound parameters, made by one function
(`_Sql.write`) and run either on the backend's own (sync, psycopg) engine or, through `apply`, on the caller's
async connection inside the caller's transaction, so catalogue changes and their index rows commit together.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import math
import re
import zlib
from collections import Counter
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, islice
from typing import Any

from rapidfuzz.distance import OSA
from sqlalchemy import Connection, TextClause, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from search.analysis import AnalyzedQuery, QueryTerm, allowed_typos, corrections, distinctive, parse_query
from search.backends.base import SearchBackend, SearchError
from search.documents import (
    EXACT_COUNT,
    FACETS,
    NETWORK,
    WHOLE_WORD_BOOST,
    Document,
    ExternalBody,
    Hit,
    SearchQuery,
    SearchResult,
    Viewer,
    municipality_visibility,
)
from search.fields import indexed_fields, make_hit, snippet_body, stored_fields

# ts_rank weights in PostgreSQL's order {D, C, B, A}: body, meta, summary, title (as FTS5: 1, 2.5, 5, 10)
WEIGHTS = "{0.1, 0.25, 0.5, 1.0}"
BATCH = 500
MAX_POSITION = 16383  # the largest position a tsvector holds
MAX_POSITIONS = 255  # positions kept per lexeme (PostgreSQL keeps at most 256)
TYPO_CANDIDATES = 200  # trigram neighbours fetched per misspelt form, then checked by edit distance
TYPO_LIMIT = 6  # known words kept per misspelt form (as FTS5)
SCORE_SCALE = 100.0  # ts_rank values are small; hit scores are rounded to 4 decimals
NORMALIZATION = 0  # no length normalisation (only the title, summary, meta and the body's first words weigh)
BROWSE_ORDER = "(type <> 'process'), title, id"  # an empty query lists processes first, by title (as FTS5)
SAMPLE_ROWS = 500  # about how many documents the estimate samples (each is read whole: its match is tested)
BROAD_MATCHES = 3 * EXACT_COUNT  # more (estimated) matches: a sample answers
TITLE_LEXEMES = "ts_filter(tsv, '{a}')"  # the title's words (GIN indexed)
# The GIN indexes' pending lists, in kB (PostgreSQL's least is 64). New entries wait in the list and are merged
# into the index together, sorted, when it is full: entering them one by one (`fastupdate = off`) made writing 2,000
# new code files (20,000 new words in `search_terms`) twice as slow. Every search reads the whole list through, so
# it is kept small: PostgreSQL's default of 4 MB made the first search after a large write the slow one.
PENDING_LISTS = {
    "search_documents_tsv": 256,
    "search_documents_title": 64,
    "search_documents_facets": 64,
    "search_terms_trgm": 64,
}
GIN_INDEXES = tuple(PENDING_LISTS)
# Room left in each page of `search_terms` for a changed count's new row version, which then is a HOT update (in
# the same page, no new index entries): a write that adds new code files changes the counts of some thousands of
# known words, and each update that is not HOT enters the word's trigrams into the trigram index again (about 10
# entries). No index may name `df` either (a column an index names makes every update of it not HOT): the words
# whose count fell to 0 are found through `search_terms_emptied`, not through a partial index on `df`.
TERMS_FILLFACTOR = 80


def _gin_options(index: str) -> list[str]:
    """The options of a GIN index as `pg_class.reloptions` lists them (sorted)."""
    return ["fastupdate=on", f"gin_pending_list_limit={PENDING_LISTS[index]}"]


def _pending(index: str) -> str:
    """The options of a GIN index as `CREATE INDEX … WITH` sets them."""
    return f"WITH ({', '.join(_gin_options(index))})"


# the indexes of `search_documents` (`search_documents_<name>`) beside its primary key
DOCUMENT_INDEXES = {
    "tsv": f"USING gin (tsv) {_pending('search_documents_tsv')}",
    # the title's words: candidates always scored
    "title": f"USING gin ({TITLE_LEXEMES}) {_pending('search_documents_title')}",
    "facets": f"USING gin (facet_ids) {_pending('search_documents_facets')}",
    "browse": f"({BROWSE_ORDER})",
    # the few documents not visible to the whole network (drafts), counted for estimates
    "private": f"(visibility) WHERE visibility <> '{NETWORK}'",
}
TITLE_CANDIDATES = 200  # documents with a query word in the title that are always scored
COMPLETE_CANDIDATES = 500  # documents with every word that are scored (with those with a word in the title)
_DOCUMENTS = """SELECT CASE WHEN c.reltuples >= 1000 THEN c.reltuples::bigint
                       ELSE (SELECT count(*) FROM {docs}) END
                FROM pg_class AS c WHERE c.oid = CAST(:table AS regclass)"""
SEARCH_SETTINGS = text(  # for the search's transaction; browsing (no words) may scan the table
    "SELECT set_config('max_parallel_workers_per_gather', '0', true), "
    "set_config('enable_seqscan', CASE WHEN :words THEN 'off' ELSE 'on' END, true)"
)
# the columns kept in the row (STORAGE MAIN): all but the body
IN_ROW = ("key", "type", "id", "title", "url", "summary", "visibility", "tsv", "facet_ids")
# noted on `tsv`: the layout `_Sql.convert` brings a table of an older one to
LAYOUT = "lexemes of the title, summary and meta with positions; external summaries and bodies not kept"
PLAIN_BODY = b"\x00"  # the first byte of a body converted from the older layout (zlib's first is 0x78)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

Params = dict[str, Any]
Statement = tuple[TextClause, Params]


# ---------------------------------------------------------------- documents → rows


LABELS = 4096  # positions whose labels (`12A`) are made once per weight, not for each token


@lru_cache(maxsize=8)
def _labels(weight: str) -> list[str]:
    return [f"{pos}{weight}" for pos in range(LABELS + 1)]


def tsvector_literal(fields: Sequence[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """(a `tsvector` literal, its distinct lexemes in order) for (analysed text, weight letter) pairs, in order.

    Positions run on across the fields, as in one FTS5 row; past PostgreSQL's limits the lexeme is still
    indexed, with fewer positions (its first MAX_POSITIONS; one first seen past MAX_POSITION, with that one).
    Each lexeme's entry (`'lexeme':1A,7C`) is written as its positions come (no list per lexeme, no second pass).
    """
    entries: dict[str, str] = {}
    pos = 0
    for analysed, weight in fields:
        tokens = analysed.split()
        end = pos + len(tokens)
        placed = tokens[: max(MAX_POSITION - pos, 0)]
        labels = (
            _labels(weight)[pos + 1 : end + 1]
            if end <= LABELS
            else [f"{p}{weight}" for p in range(pos + 1, pos + len(placed) + 1)]
        )
        for token, label in zip(placed, labels, strict=True):
            entry = entries.get(token)
            entries[token] = f"'{token}':{label}" if entry is None else f"{entry},{label}"
        for token in tokens[len(placed) :]:
            if token not in entries:
                entries[token] = f"'{token}':{MAX_POSITION}{weight}"
        pos = end
    if pos > MAX_POSITIONS:  # (only then can a lexeme have more)
        for token, entry in entries.items():
            if entry.count(",") >= MAX_POSITIONS:
                start = len(token) + 3
                entries[token] = entry[:start] + ",".join(entry[start:].split(",")[:MAX_POSITIONS])
    if _needs_escapes(entries):
        for token, entry in entries.items():  # (each was quoted as lexeme_quote quotes one without)
            entries[token] = lexeme_quote(token) + entry[len(token) + 2 :]
    return " ".join(entries.values()), entries


def lexemes_literal(lexemes: Iterable[str]) -> str:
    """A `tsvector` literal of lexemes without positions (for matching only)."""
    lexemes = list(lexemes)
    if not lexemes:
        return ""
    if _needs_escapes(lexemes):
        return " ".join(map(lexeme_quote, lexemes))
    return "'" + "' '".join(lexemes) + "'"  # each as lexeme_quote quotes it


def _needs_escapes(lexemes: Iterable[str]) -> bool:
    """Whether a lexeme holds a quote or a backslash (without, quoting one is putting it between quotes)."""
    text = "".join(lexemes)
    return "'" in text or "\\" in text


def text_array(values: Sequence[str]) -> str:
    """A `text[]` literal of these values (bound as one text and cast: the driver adapts a list element by element,
    several times slower; a batch's new words are 20,000 elements)."""
    joined = "".join(values)
    if '"' in joined or "\\" in joined:
        return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"
    return '{"' + '","'.join(values) + '"}' if values else "{}"


def lexeme_quote(form: str) -> str:
    """One lexeme as a quoted `tsvector`/`tsquery` literal: the only way text reaches a tsquery."""
    return "'" + form.replace("\\", "\\\\").replace("'", "''") + "'"


def pack_body(body: str) -> bytes:
    """The body kept for snippets, zlib-compressed (a third smaller than PostgreSQL's own compression) at its
    fastest level, as FTS5's: a fifth less time than level 6, 3 % larger (a code file's ~370 bytes, 10 more)."""
    return zlib.compress(body.encode(), 1)


# The body of a document whose text is read from its own row (`ExternalBody`): an empty one, so that an instance of
# the version before reads it without failing (it shows no snippet); as bodies were packed at level 6, which the rows
# written then hold (the same bytes as always: a body equal to it is the sign)
EXTERNAL = zlib.compress(b"", 6)
_EXTERNAL_SQL = f"decode('{EXTERNAL.hex()}', 'hex')"


def unpack_body(packed: bytes) -> str:
    """A stored body; one converted from the older layout (text) is the plain text after a zero byte."""
    if packed[:1] == PLAIN_BODY:
        return packed[1:].decode()
    return zlib.decompress(packed).decode()


def _facet_key(value: str) -> str:
    return " ".join(value.split()).casefold()


def facet_key(facet: str) -> str:
    """The key a filter finds a `facet:value` by: its value case-folded, its spaces made single."""
    name, _, value = facet.partition(":")
    return f"{name}:{_facet_key(value)}"


def _stored_size(row: Params) -> int:
    """About how large a row is stored (its vector's literal is about as long as the vector)."""
    return sum(len(row[name]) for name in ("key", "id", "title", "url", "summary", "tsv", "body"))


def document_row(doc: Document, external: Container[str] = ()) -> Params:
    """The `search_documents` row of one document (its analysis done here, in Python); no summary and body for a
    type in `external` (read from the document's own row)."""
    indexed = indexed_fields(doc)
    weighted, known = tsvector_literal([(indexed.title, "A"), (indexed.summary, "B"), (indexed.meta, "C")])
    rest = [t for t in indexed.words() if t not in known]  # (the body's words: the others are known)
    facets = doc.facet_values()
    outside = doc.type in external
    return {
        "key": doc.key,
        **stored_fields(doc, indexed.body),
        "summary": "" if outside else doc.summary,
        "body": EXTERNAL if outside else pack_body(indexed.body),
        "boost": float(doc.boost),
        "tsv": " ".join(filter(None, (weighted, lexemes_literal(rest)))),
        "terms": [*known, *rest],  # each once (not stored: `tsv` holds them; counted into `search_terms`)
        # (stored as the ids of these values in `search_facets`)
        "facets": [f"{name}:{value}" for name, values in facets.items() for value in values],
    }


# ---------------------------------------------------------------- queries → tsquery


def whole_word_query(terms: Sequence[QueryTerm]) -> str | None:
    """Every term matched by a whole word (`fremmødetolkning` itself, not fremmøde … tolkning), or None when a
    term has no such form (as FTS5's `whole_word_expression`)."""
    groups = []
    for term in terms:
        whole, prefixes = term.whole_words()
        alternatives = [lexeme_quote(f) for f in whole] + [lexeme_quote(f) + ":*" for f in prefixes]
        if not alternatives:
            return None
        groups.append("(" + " | ".join(alternatives) + ")")
    return " & ".join(groups) if groups else None


def term_query(term: QueryTerm) -> tuple[str, int] | None:
    """(a tsquery matching any form of one query term, how many lexemes it has), or None when it has none.

    Mirrors FTS5's `match_group`: a prefix makes longer forms starting with it redundant; a multi-word
    alternative (synonym, compound parts) must have all its words (PostgreSQL has no NEAR).
    """
    whole, prefixes = term.reduced()
    alternatives = [lexeme_quote(form) for form in whole] + [lexeme_quote(form) + ":*" for form in prefixes]
    lexemes = len(alternatives)
    for phrase in term.phrases:
        tokens = [lexeme_quote(w) for w in dict.fromkeys(phrase) if w]
        if len(tokens) == 1:
            alternatives.append(tokens[0])
        elif tokens:
            alternatives.append("(" + " & ".join(tokens) + ")")
        lexemes += len(tokens)
    for phrase in term.prefix_phrases:  # a half-typed compound: bank + afst…
        tokens = [lexeme_quote(w) for w in phrase[:-1] if w] + [lexeme_quote(phrase[-1]) + ":*"]
        alternatives.append("(" + " & ".join(tokens) + ")")
        lexemes += len(tokens)
    if not alternatives:
        return None
    return "(" + " | ".join(alternatives) + ")", lexemes


def _upper(prefix: str) -> str:
    """A bound (in C collation) above every word starting with `prefix` (index forms are ASCII)."""
    return prefix + "\uffff"


@dataclass
class _Group:
    """One query term as searched: its tsquery, how many lexemes it has, how many documents have its most
    frequent form, and whether the index knows it (else its typos are looked up)."""

    term: QueryTerm
    query: str
    lexemes: int
    df: int = 0
    known: bool = False
    matches: int = 0  # about how many documents match it: its most frequent alternative (a phrase: its rarest word)


# ---------------------------------------------------------------- SQL


@dataclass
class _Plan:
    """One search as SQL: `where` selects the matches; `score` and `complete` (has every word) are expressions
    over a document `d`, computed in the same pass that reads a match (no second visit to its row); `page` ranks
    the candidates (key, score), reading the matches the count read as `m` (key, hit, score, complete);
    `documents` is the size of the index."""

    query: SearchQuery
    analyzed: AnalyzedQuery
    where: str
    params: Params
    page: str
    documents: int
    score: str = "0.0"
    complete: str = "false"
    expected: float = 0.0  # about how many documents the words match (from their document counts), filters aside


class _Sql:
    """Every statement of one schema. Identifiers are validated and quoted; values are always bound."""

    def __init__(self, schema: str, external: Mapping[str, ExternalBody] | None = None) -> None:
        places = (external or {}).items()
        for name in (schema, *(n for t, e in places for n in (t, e.table, e.key, e.summary, e.body))):
            if not _IDENTIFIER.fullmatch(name):
                raise ValueError(f"not a plain SQL name: {name!r}")
        self.schema = schema
        self.external = dict(external or {})
        s = f'"{schema}"'
        self.docs = f"{s}.search_documents"
        self.terms = f"{s}.search_terms"
        self.emptied = f"{s}.search_terms_emptied"
        self.facets = f"{s}.search_facets"
        self.lock_key = f"rpabank-search:{schema}"

    def tables(self) -> list[str]:
        """The idempotent DDL of the tables (the caller holds the schema's advisory lock); then `convert_facets`,
        then `ensure`."""
        s = f'"{self.schema}"'
        return [
            f"CREATE SCHEMA IF NOT EXISTS {s}",
            # every `facet:value` a document has had, as written, and its key (see `facet_key`); only a rebuild
            # removes those no document has
            f"""CREATE TABLE IF NOT EXISTS {self.facets} (
                id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                value text COLLATE "C" NOT NULL UNIQUE,
                vkey text COLLATE "C" NOT NULL
            )""",
            f"CREATE INDEX IF NOT EXISTS search_facets_vkey ON {self.facets} (vkey)",
            f"""CREATE TABLE IF NOT EXISTS {self.docs} (
                key text PRIMARY KEY,
                type text NOT NULL,
                id text NOT NULL,
                title text NOT NULL,
                url text NOT NULL,
                summary text NOT NULL,
                body bytea NOT NULL,
                visibility text NOT NULL,
                boost real NOT NULL DEFAULT 1.0,
                tsv tsvector NOT NULL,
                facet_ids integer[] NOT NULL
            )""",
        ]

    def ensure(self, ext: str) -> list[str]:
        """The idempotent DDL after `tables` and `convert_facets`; `ext` is pg_trgm's schema."""
        s = f'"{self.schema}"'
        return [
            # the lexemes were kept a second time as a `terms` array (a seventh of the table): `tsv` has them
            f"ALTER TABLE {self.docs} DROP COLUMN IF EXISTS terms",
            # Kept in the row: read for every match (an EXTENDED column would be moved out whenever the row is
            # over 2 kB, as most are, even a 30-byte title, each in a TOAST row of its own); only the body (read
            # for the page's hits) moves out. The vector is compressed with lz4 where the server has it (pglz
            # gives up on it): a seventh smaller, which puts three rows of a process in a page, not two (the
            # index is 54 MB, not 61, for 10,000 processes + 2,000 code files). Each scored match decompresses
            # it, in each ts_rank and @@: the bare searches took 15-25 % longer than on the same rows stored
            # uncompressed (an A/B on one database).
            *(f"ALTER TABLE {self.docs} ALTER COLUMN {column} SET STORAGE MAIN" for column in IN_ROW),
            f"""DO $$ BEGIN
                ALTER TABLE {self.docs} ALTER COLUMN tsv SET COMPRESSION lz4;
            EXCEPTION WHEN feature_not_supported THEN NULL;
            END $$""",
            self.convert(),
            *self.document_indexes(self.docs),
            f"""CREATE TABLE IF NOT EXISTS {self.terms} (
                term text COLLATE "C" PRIMARY KEY,
                df integer NOT NULL
            ) WITH (fillfactor = {TERMS_FILLFACTOR})""",
            f'CREATE INDEX IF NOT EXISTS search_terms_trgm ON {self.terms} USING gin (term "{ext}".gin_trgm_ops) '
            f"{_pending('search_terms_trgm')}",
            # an earlier version found the words whose count fell to 0 by this index, which made no update HOT
            f"DROP INDEX IF EXISTS {s}.search_terms_unused",
            # a write's words whose count went down, while it runs (emptied before it commits: see `write`)
            f'CREATE TABLE IF NOT EXISTS {self.emptied} (term text COLLATE "C" PRIMARY KEY)',
        ]

    def convert(self) -> str:
        """A table of an older layout brought up to date, rewriting it (and its indexes) once:

        - the lexemes were kept twice, in `tsv` (all, without positions) and a `rank` vector (the weighted ones):
          the weighted ones are merged into `tsv` and `rank` is dropped (the title's index, made on `rank`, goes
          with it and is made again on `tsv`);
        - the body was text: it becomes bytes, the plain text after a zero byte (SQL has no zlib; a rebuild or
          a write of the document compresses it);
        - the body's first lexemes had positions (weight D, one each: `ts_rank` counts them as it counts a lexeme
          without): they lose them; the summary and body of a type of document the database keeps itself
          (`ExternalBody`) were kept here too: they are dropped. Done once: the layout is noted on `tsv`.
        """
        types = ", ".join(f"'{t}'" for t in sorted(self.external))
        own = "CASE WHEN type IN ({types}) THEN {empty} ELSE {name} END" if types else "{name}"
        alter = f"""ALTER TABLE {self.docs}
                    ALTER COLUMN tsv TYPE tsvector USING (ts_filter(tsv, '{{a,b,c}}') || strip(tsv)),
                    ALTER COLUMN summary TYPE text USING ({own.format(empty="''", name="summary", types=types)}),
                    ALTER COLUMN body TYPE bytea USING ({own.format(empty=_EXTERNAL_SQL, name="body", types=types)}),
                    ALTER COLUMN tsv SET STORAGE MAIN, ALTER COLUMN summary SET STORAGE MAIN"""
        column = (
            "SELECT FROM information_schema.columns WHERE table_schema = '{schema}' AND table_name = "
            "'search_documents' AND column_name = '{name}'"
        )
        return f"""DO $$ DECLARE changes text[] := '{{}}'; BEGIN
            IF EXISTS ({column.format(schema=self.schema, name="rank")}) THEN
                changes := changes || ARRAY['ALTER COLUMN tsv TYPE tsvector USING (rank || tsv)', 'DROP COLUMN rank'];
            END IF;
            IF EXISTS ({column.format(schema=self.schema, name="body")} AND data_type = 'text') THEN
                changes := changes || ARRAY[$c$ALTER COLUMN body TYPE bytea
                    USING (decode('00', 'hex') || convert_to(body, 'UTF8'))$c$];
            END IF;
            IF changes <> '{{}}' THEN
                EXECUTE 'ALTER TABLE {self.docs} ' || array_to_string(changes, ', ');
            END IF;
            IF coalesce(col_description(CAST('{self.docs}' AS regclass), (SELECT attnum FROM pg_attribute
                    WHERE attrelid = CAST('{self.docs}' AS regclass) AND attname = 'tsv')), '') <> '{LAYOUT}' THEN
                -- (a new type resets a column's storage and compression: set again before the rewrite)
                BEGIN
                    {alter}, ALTER COLUMN tsv SET COMPRESSION lz4;
                EXCEPTION WHEN feature_not_supported THEN
                    {alter};
                END;
                COMMENT ON COLUMN {self.docs}.tsv IS '{LAYOUT}';
            END IF;
        END $$"""

    def convert_facets(self, conn: Connection) -> None:
        """A table of the layout before `search_facets` brought up to date, rewriting it once: its facet values
        were kept twice, as written (`facets`, counted) and as keys (`facet_keys`, filtered by), both as text; each
        value is entered in `search_facets` (its key made here, in Python, as a write makes it), `facets` becomes
        their ids (`facet_ids`), and `facet_keys` is dropped (with its index: `ensure` makes the new one)."""
        old = conn.execute(
            text(
                "SELECT FROM information_schema.columns WHERE table_schema = :schema "
                "AND table_name = 'search_documents' AND column_name = 'facet_keys'"
            ),
            {"schema": self.schema},
        ).first()
        if old is None:
            return
        values = list(conn.execute(text(f"SELECT DISTINCT f FROM {self.docs}, unnest(facets) AS f")).scalars())
        _run(conn, [self.add_facets(values)])
        conn.execute(
            text(
                "CREATE FUNCTION pg_temp.search_facet_ids(text[]) RETURNS integer[] LANGUAGE sql STABLE AS "
                f"$$SELECT ARRAY(SELECT id FROM {self.facets} WHERE value = ANY($1) ORDER BY id)$$"
            )
        )
        # (a new type resets a column's storage: set again before the rewrite)
        conn.execute(
            text(
                f"""ALTER TABLE {self.docs} DROP COLUMN facet_keys,
                    ALTER COLUMN facets TYPE integer[] USING (pg_temp.search_facet_ids(facets)),
                    ALTER COLUMN facets SET STORAGE MAIN"""
            )
        )
        conn.execute(text(f"ALTER TABLE {self.docs} RENAME COLUMN facets TO facet_ids"))
        conn.execute(text("DROP FUNCTION pg_temp.search_facet_ids(text[])"))

    def document_indexes(self, table: str, suffix: str = "") -> list[str]:
        """The indexes of the documents' table (named with `suffix` while a rebuild makes them on its new table)."""
        return [
            f"CREATE INDEX IF NOT EXISTS search_documents_{name}{suffix} ON {table} {definition}"
            for name, definition in DOCUMENT_INDEXES.items()
        ]

    # ---------------------------------------------------------------- writing

    @property
    def rebuild_lock(self) -> str:
        return f"{self.lock_key}:rebuild"

    def lock_keys(self, keys: Iterable[str]) -> list[Statement]:
        """Writers wait for a running rebuild (shared against its exclusive lock), and writers of the same
        document for each other (in key order, so they cannot deadlock). Each statement after these sees the
        rows that the writers it waited for committed."""
        return [
            (text("SELECT pg_advisory_xact_lock_shared(hashtextextended(:k, 0))"), {"k": self.rebuild_lock}),
            (
                text(
                    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
                    "FROM unnest(CAST(CAST(:keys AS text) AS text[])) AS k"
                ),
                {"keys": text_array(sorted({f"{self.lock_key}:{k}" for k in keys}))},
            ),
        ]

    def add_facets(self, values: Iterable[str]) -> Statement:
        """The `facet:value`s not yet in `search_facets` entered, with their keys. Safe with concurrent writers:
        one entering the same value waits for the other's commit and then enters nothing (so the next statement
        sees the row); in the values' order, so they wait for each other in one order. The values already there
        are left alone (ON CONFLICT would draw an id for each of them)."""
        values = sorted(set(values))
        return (
            text(
                f"""INSERT INTO {self.facets} (value, vkey)
                SELECT v, k FROM unnest(CAST(CAST(:values AS text) AS text[]), CAST(CAST(:keys AS text) AS text[]))
                                 AS u(v, k)
                WHERE NOT EXISTS (SELECT FROM {self.facets} AS f WHERE f.value = u.v)
                ORDER BY v
                ON CONFLICT (value) DO NOTHING"""
            ),
            {"values": text_array(values), "keys": text_array([facet_key(v) for v in values])},
        )

    def insert_documents(self, rows: list[Params], table: str | None = None) -> list[Statement]:
        """Two statements for all the rows: their facet values entered in `search_facets`, then the rows, each
        column bound as one array literal and unnested (as an `executemany` the driver bound each row value by
        value and the server ran the statement once per row), the facet values as their ids. Bodies travel as
        base64 text (an array literal of bytes would escape every byte).
        The rows are written largest first: PostgreSQL puts a row into the first page with room for it, so the
        smaller ones fill the room the larger left (a page holds three process rows of ~2.2 kB with room for one
        of ~1.5): 27.0 MB instead of 27.9 for 10,000 processes and 2,000 code files."""
        rows = sorted(rows, key=_stored_size, reverse=True)
        plain = ("key", "type", "id", "title", "url", "summary", "visibility", "tsv")
        columns = {name: [row[name] for row in rows] for name in plain}
        columns["body"] = [binascii.b2a_base64(row["body"], newline=False).decode() for row in rows]
        columns["facets"] = [text_array(row["facets"]) for row in rows]
        insert = (
            text(
                f"""INSERT INTO {table or self.docs} (key, type, id, title, url, summary, body, visibility, boost, tsv,
                                                      facet_ids)
                SELECT key, type, id, title, url, summary, decode(body, 'base64'), visibility, boost,
                       CAST(tsv AS tsvector),
                       ARRAY(SELECT f.id FROM {self.facets} AS f WHERE f.value = ANY(CAST(u.facets AS text[]))
                             ORDER BY f.id)
                FROM unnest({", ".join(f"CAST(CAST(:{name} AS text) AS text[])" for name in columns)},
                            CAST(CAST(:boost AS text) AS real[]))
                     AS u({", ".join(columns)}, boost)"""
            ),
            {
                **{name: text_array(values) for name, values in columns.items()},
                "boost": "{" + ",".join([repr(row["boost"]) for row in rows]) + "}",
            },
        )
        return [self.add_facets(chain.from_iterable(row["facets"] for row in rows)), insert]

    def write(self, upserts: Sequence[Document], deletes: Sequence[tuple[str, str]]) -> list[Statement]:
        """The statements that replace `upserts` and remove `deletes`, keeping document frequencies exact.

        The old rows are deleted and their terms counted down in the same statement that counts the new
        terms up (one upsert over the sorted terms, so concurrent writers lock term rows in one order). The words
        whose count went down are noted in `search_terms_emptied` by that statement; the last one removes those of
        them whose count is 0 and empties the note (no other writer sees it: its rows never outlive the
        transaction, and a writer reaches a word's note only holding the lock on the word's row, after the upsert).
        """
        rows = [document_row(doc, self.external) for doc in upserts]
        keys = list(dict.fromkeys([r["key"] for r in rows] + [f"{t}:{i}" for t, i in deletes]))
        if not keys:
            return []
        added = Counter(chain.from_iterable(r["terms"] for r in rows))
        add_terms = sorted(added)
        statements = [
            *self.lock_keys(keys),
            (
                text(
                    f"""WITH gone AS (
                        DELETE FROM {self.docs} WHERE key = ANY(CAST(CAST(:keys AS text) AS text[]))
                        RETURNING tsvector_to_array(tsv) AS terms
                    ),
                    delta AS (
                        SELECT term, sum(n)::integer AS n FROM (
                            SELECT unnest(terms) AS term, -1 AS n FROM gone
                            UNION ALL
                            SELECT * FROM unnest(CAST(CAST(:add_terms AS text) AS text[]),
                                                 CAST(CAST(:add_counts AS text) AS integer[]))
                        ) AS d GROUP BY term
                    ),
                    emptied AS (
                        INSERT INTO {self.emptied} (term)
                        SELECT term FROM delta WHERE n < 0 ORDER BY term COLLATE "C" ON CONFLICT DO NOTHING
                    )
                    INSERT INTO {self.terms} AS t (term, df)
                    SELECT term, n FROM delta WHERE n <> 0 ORDER BY term COLLATE "C"
                    ON CONFLICT (term) DO UPDATE SET df = t.df + EXCLUDED.df"""
                ),
                {
                    "keys": text_array(keys),
                    "add_terms": text_array(add_terms),
                    "add_counts": "{" + ",".join([str(added[t]) for t in add_terms]) + "}",
                },
            ),
        ]
        if rows:
            statements += self.insert_documents(rows)
        statements.append(
            (
                text(
                    # (the words as one array, looked up by key: joined, the planner read the whole vocabulary)
                    f"""WITH emptied AS (DELETE FROM {self.emptied} RETURNING term)
                    DELETE FROM {self.terms} WHERE term = ANY(ARRAY(SELECT term FROM emptied)) AND df <= 0"""
                ),
                {},
            )
        )
        return statements

    def recount_terms(self) -> list[Statement]:
        """The whole vocabulary counted again from the documents (at the end of a rebuild). The words are entered
        in order, which fills the primary key's pages (in a hash's order each page was split half empty: the key was
        40 % larger); the trigram index's pending entries are merged in (no search after a rebuild reads them).
        Not emptied with TRUNCATE: a search that has read the vocabulary and waits for the documents would wait
        for the rebuild, which would wait for it."""
        return [
            (text(f"DELETE FROM {self.terms}"), {}),
            (
                text(
                    f"INSERT INTO {self.terms} (term, df) SELECT term, count(*) FROM {self.docs}, "
                    'unnest(tsvector_to_array(tsv)) AS term GROUP BY term ORDER BY term COLLATE "C"'
                ),
                {},
            ),
            (
                text("SELECT gin_clean_pending_list(CAST(:i AS regclass))"),
                {"i": f'"{self.schema}".search_terms_trgm'},
            ),
        ]


def _run(conn: Connection, statements: Iterable[Statement]) -> None:
    for statement, params in statements:
        conn.execute(statement, params)


def _chunks(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    it = iter(documents)
    while chunk := list(islice(it, size)):
        yield chunk


# ---------------------------------------------------------------- the backend


class PostgresBackend(SearchBackend):
    name = "postgres"

    def __init__(self, url: str, schema: str = "public", external: Mapping[str, ExternalBody] | None = None) -> None:
        """`external`: the types of document whose summary and body the database keeps itself, and where (see
        `ExternalBody`); the tables are found on the connection's search path."""
        self.sql = _Sql(schema, external)
        self.url = make_url(url).set(drivername="postgresql+psycopg")
        self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        self.ext_schema = "public"
        self.schema_ready = False
        with contextlib.suppress(SearchError):  # a database that is away now: tried again on first use
            self.ensure_schema()

    def _ready(self) -> None:
        if not self.schema_ready:
            self.ensure_schema()

    def ensure_schema(self) -> None:
        """Create the extension, tables and indexes if missing; safe when several instances start at once."""
        try:
            with self.engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('rpabank-search-schema', 0))"))
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
                ext = conn.execute(
                    text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")
                ).scalar_one()
                self.ext_schema = str(ext).strip('"')
                for ddl in self.sql.tables():
                    conn.execute(text(ddl))
                self.sql.convert_facets(conn)
                for ddl in self.sql.ensure(self.ext_schema):
                    conn.execute(text(ddl))
                options: dict[str, list[str]] = dict(
                    conn.execute(
                        text(
                            "SELECT c.relname, coalesce(c.reloptions, '{}') FROM pg_class AS c "
                            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = :schema AND c.relname = ANY(CAST(:names AS text[]))"
                        ),
                        {"schema": self.sql.schema, "names": [*GIN_INDEXES, "search_terms"]},
                    ).all()
                )
                if f"fillfactor={TERMS_FILLFACTOR}" not in options.pop("search_terms"):  # an earlier version's
                    # (the pages written from now on keep the room; a rebuild writes the whole vocabulary anew)
                    conn.execute(text(f"ALTER TABLE {self.sql.terms} SET (fillfactor = {TERMS_FILLFACTOR})"))
                for index, found in options.items():
                    # made by an earlier version (without a pending list, or with the default one): given this
                    # one's, and what waits in the list merged in (a longer list would stay until the next write)
                    if sorted(found) != _gin_options(index):
                        name = f'"{self.sql.schema}"."{index}"'
                        conn.execute(text(f"ALTER INDEX {name} SET ({', '.join(_gin_options(index))})"))
                        conn.execute(text("SELECT gin_clean_pending_list(CAST(:i AS regclass))"), {"i": name})
            self.schema_ready = True
        except DBAPIError as exc:
            raise SearchError(f"PostgreSQL search schema {self.sql.schema!r}: {exc.orig}") from exc

    def close(self) -> None:
        self.engine.dispose()

    # -------------------------------------------------------- writing

    def upsert(self, documents: Iterable[Document]) -> None:
        self._ready()
        for chunk in _chunks(documents, BATCH):
            with self.engine.begin() as conn:
                _run(conn, self.sql.write(chunk, []))

    def delete(self, keys: Iterable[tuple[str, str]]) -> None:
        self._ready()
        wanted = list(keys)
        for i in range(0, len(wanted), BATCH):
            with self.engine.begin() as conn:
                _run(conn, self.sql.write([], wanted[i : i + BATCH]))

    async def apply(
        self, conn: AsyncConnection, upserts: Sequence[Document], deletes: Sequence[tuple[str, str]]
    ) -> None:
        """Index `upserts` and remove `deletes` on the caller's connection, inside the caller's transaction:
        nothing is searchable before it commits, and a rollback leaves the index as it was."""
        if not self.schema_ready:
            await asyncio.to_thread(self.ensure_schema)
        for statement, params in self.sql.write(upserts, deletes):
            await conn.execute(statement, params)

    def rebuild(self, documents: Iterable[Document]) -> int:
        """Replace every document in one transaction: searches see the old index until it commits.

        The documents are read and written in chunks of BATCH into a new table without indexes; its indexes are
        then built in one pass each (much faster than entering each document into them), and it takes the old
        table's place at the end, in the same transaction: searches wait only for that swap, writers (who wait
        for the rebuild's lock) for the whole rebuild. The vocabulary is counted in SQL at the end.
        """
        self._ready()
        count = 0
        schema = f'"{self.sql.schema}"'
        new = f"{schema}.search_documents_new"
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": self.sql.rebuild_lock})
            conn.execute(text(f"DROP TABLE IF EXISTS {new}"))
            like = "INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS"
            conn.execute(text(f"CREATE TABLE {new} (LIKE {self.sql.docs} {like})"))
            for chunk in _chunks(documents, BATCH):
                rows = [document_row(doc, self.sql.external) for doc in chunk]
                rows = list({r["key"]: r for r in rows}.values())  # a repeated document: the last one counts
                _run(conn, self.sql.insert_documents(rows, new))
                count += len(rows)
            conn.execute(text(f"ALTER TABLE {new} ADD CONSTRAINT search_documents_pkey_new PRIMARY KEY (key)"))
            for ddl in self.sql.document_indexes(new, "_new"):
                conn.execute(text(ddl))
            conn.execute(text(f"ANALYZE {new}"))
            conn.execute(text(f"DROP TABLE {self.sql.docs}"))  # from here on searches wait for the commit
            conn.execute(text(f"ALTER TABLE {new} RENAME TO search_documents"))
            for index in ("pkey", *DOCUMENT_INDEXES):
                name = f"search_documents_{index}"
                conn.execute(text(f"ALTER INDEX {schema}.{name}_new RENAME TO {name}"))
            _run(conn, self.sql.recount_terms())
            conn.execute(
                text(
                    f"DELETE FROM {self.sql.facets} AS f "
                    f"WHERE NOT EXISTS (SELECT FROM {self.sql.docs} WHERE facet_ids @> ARRAY[f.id])"
                )
            )
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"ANALYZE {self.sql.terms}"))
        return count

    # -------------------------------------------------------- reading

    def count(self) -> int:
        self._ready()
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {self.sql.docs}")).scalar_one())

    def search(self, query: SearchQuery) -> SearchResult:
        self._ready()
        analyzed = parse_query(query.text)
        try:
            with self.engine.connect() as conn:
                result = self._search(conn, query, analyzed)
                result.corrections = corrections(analyzed)
                return result
        except DBAPIError as exc:
            raise SearchError(f"PostgreSQL search failed: {exc.orig}") from exc

    def _search(self, conn: Connection, query: SearchQuery, analyzed: AnalyzedQuery) -> SearchResult:
        # Parallel workers cost more to start than these queries take. The planner cannot estimate how many
        # documents a tsquery matches and may scan the whole table; the GIN index is always the better way in.
        conn.execute(SEARCH_SETTINGS, {"words": not analyzed.empty})
        where, params = self._where(conn, query)
        want = query.offset + query.limit
        params = {
            **params,
            "want": want,
            "cap": max(EXACT_COUNT, want),
            "seed": zlib.crc32(repr((query.text, sorted(query.filters.items()))).encode()),
        }
        if analyzed.empty:
            page = f"SELECT key, 0.0 AS score FROM {self.sql.docs} WHERE {where} ORDER BY {BROWSE_ORDER} LIMIT :want"
            return self._answer(conn, _Plan(query, analyzed, where, params, page, self._documents(conn)))
        context = parse_query(query.context).terms if query.context else []
        for term in context:
            term.typos = False  # searched only when the index knows it as written
        groups, documents = self._groups(conn, AnalyzedQuery(analyzed.text, analyzed.terms + context))
        if context:
            of_context = {id(t) for t in context}
            extra = [g for g in groups if id(g.term) in of_context]
            groups = [g for g in groups if id(g.term) not in of_context]
            chosen = distinctive([g.term for g in groups], [g.term for g in extra], [g.matches for g in extra])
            groups += [extra[i] for i in chosen]
            analyzed.terms += [extra[i].term for i in chosen]
        if not groups:
            return SearchResult(total=0, hits=[], facets={name: {} for name in FACETS})
        params["any"] = " | ".join(g.query for g in groups)
        params["all"] = " & ".join(g.query for g in groups)
        ranks = []
        for i, g in enumerate(groups):
            # ts_rank divides by the number of lexemes; each term weighs by its rarity (as BM25's IDF)
            idf = math.log(1 + (documents - g.df + 0.5) / (g.df + 0.5))
            params[f"q{i}"] = g.query
            params[f"w{i}"] = max(idf, 0.01) * g.lexemes * SCORE_SCALE
            ranks.append(f"ts_rank(CAST(:weights AS real[]), d.tsv, CAST(:q{i} AS tsquery), {NORMALIZATION}) * :w{i}")
        params["weights"] = WEIGHTS
        params["title_cap"] = max(TITLE_CANDIDATES, want)
        params["complete_cap"] = max(COMPLETE_CANDIDATES, want)
        score = f"({' + '.join(ranks)} + 0.01) * boost"
        whole = whole_word_query([g.term for g in groups])
        if whole is not None and whole != params["any"]:
            params["whole"] = whole
            score += f" * CASE WHEN d.tsv @@ CAST(:whole AS tsquery) THEN {WHOLE_WORD_BOOST} ELSE 1 END"
        where_any = f"{where} AND tsv @@ CAST(:any AS tsquery)"
        share_all = math.prod(min(g.matches / documents, 1.0) for g in groups)
        share_any = 1.0 - math.prod(1.0 - min(g.matches / documents, 1.0) for g in groups)
        # Only a bounded set of candidates is scored: the matches the count reads (every match when there are
        # at most EXACT_COUNT), those with a word in the title and those with every word. Documents with every
        # word rank first.
        complete = "false" if len(groups) == 1 else "d.tsv @@ CAST(:all AS tsquery)"
        candidates = [
            "SELECT key, score, complete FROM m WHERE m.hit",
            f"(SELECT d.key, {score}, {complete} FROM {self.sql.docs} AS d WHERE {where} "
            f"AND {TITLE_LEXEMES} @@ CAST(:any AS tsquery) LIMIT :title_cap)",
        ]
        if len(groups) > 1 and share_all * documents <= BROAD_MATCHES:
            candidates.append(
                f"(SELECT d.key, {score}, true FROM {self.sql.docs} AS d WHERE {where} "
                "AND tsv @@ CAST(:all AS tsquery) LIMIT :complete_cap)"
            )
        page = f"""SELECT key, max(score) AS score FROM ({" UNION ALL ".join(candidates)}) AS c (key, score, complete)
            GROUP BY key ORDER BY bool_or(complete) DESC, max(score) DESC, key LIMIT :want"""
        plan = _Plan(query, analyzed, where_any, params, page, documents, score, complete, share_any * documents)
        if share_any * documents > BROAD_MATCHES:
            # So many documents match that collecting them from the index costs more than reading a sample.
            result = self._sampled(conn, plan)
            if result is not None:
                return result
        return self._answer(conn, plan)

    def _answer(self, conn: Connection, plan: _Plan) -> SearchResult:
        """Total, facets and the page (`page`: key, score; it may read the first matches as `m`) in one
        statement. The first EXACT_COUNT + 1 matches are counted; more than EXACT_COUNT: total and facets are
        estimated from a sample."""
        rows = conn.execute(
            text(
                f"""WITH m AS MATERIALIZED (SELECT d.key, d.facet_ids, true AS hit, {plan.score} AS score,
                                                   {plan.complete} AS complete
                                            FROM {self.sql.docs} AS d WHERE {plan.where} LIMIT :cap + 1)
                {self._facet_counts("true")}
                UNION ALL
                SELECT false, p.* FROM ({plan.page}) AS p"""
            ),
            plan.params,
        ).all()
        total, facets = _count_facets((f, int(n)) for is_facet, f, n in rows if is_facet)
        ranked = [(key, s) for is_facet, key, s in rows if not is_facet]
        approximate = total > EXACT_COUNT
        if approximate and plan.expected > total and not plan.query.filters:
            # more than were counted: the words' document counts say about how many (less the share of the index
            # this viewer may not see, so no draft of another municipality counts); the facets of those counted
            # (the first in the table's order) are scaled to it
            expected = max(plan.expected * (1.0 - self._unseen(conn, plan) / plan.documents), total)
            scale = expected / total
            total = round(expected)
            facets = {name: {v: max(1, round(n * scale)) for v, n in counts.items()} for name, counts in facets.items()}
        elif approximate:
            total, facets, _ = self._estimate(conn, plan, ranked=False)
        return self._result(conn, plan, ranked, total, facets, approximate)

    def _unseen(self, conn: Connection, plan: _Plan) -> int:
        """How many documents of the index the plan's viewer may not see (from the index of the few drafts)."""
        if plan.query.viewer.is_admin:
            return 0
        return int(
            conn.execute(
                text(
                    f"SELECT count(*) FROM {self.sql.docs} WHERE visibility <> '{NETWORK}' "
                    "AND visibility <> CAST(:mine AS text)"
                ),
                {"mine": plan.params["mine"]},
            ).scalar_one()
        )

    def _sampled(self, conn: Connection, plan: _Plan) -> SearchResult | None:
        """For a query that matches very many documents: total and facets estimated from a sample of the
        table, whose matches are also the page's candidates (with the title and every-word candidates). None
        when the sample shows that the filters leave few enough to count, or too few to fill the page."""
        total, facets, rows = self._estimate(conn, plan, ranked=True)
        if total <= EXACT_COUNT or len(rows) < plan.params["want"]:
            return None
        return self._result(conn, plan, rows, total, facets, True)

    def _estimate(
        self, conn: Connection, plan: _Plan, ranked: bool
    ) -> tuple[int, dict[str, dict[str, int]], list[tuple[str, float]]]:
        """(total, facet counts) of the documents that meet the plan's `where`, estimated from a random sample
        of about SAMPLE_ROWS documents (the same one for the same query, so paging is stable), and (`ranked`)
        the page ranked among the sample's matches as `m`. Never less than EXACT_COUNT + 1 when not `ranked`
        (the caller knows that more matched)."""
        documents = plan.documents
        percent = min(100.0, 100.0 * SAMPLE_ROWS / max(documents, 1))
        page = f"UNION ALL SELECT 2, p.* FROM ({plan.page}) AS p" if ranked else ""
        ranking = (
            f"CASE WHEN d.hit THEN {plan.score} END AS score, CASE WHEN d.hit THEN {plan.complete} END AS complete"
            if ranked
            else "0.0 AS score, false AS complete"
        )
        rows = conn.execute(
            text(
                f"""WITH m AS MATERIALIZED (
                    SELECT d.key, d.facet_ids, d.hit, {ranking}
                    FROM (SELECT *, ({plan.where}) AS hit
                          FROM {self.sql.docs} TABLESAMPLE SYSTEM (:percent) REPEATABLE (:seed)) AS d)
                {self._facet_counts("0", "WHERE m.hit")}
                UNION ALL
                SELECT 1, NULL, count(*)::float8 FROM m
                {page}"""
            ),
            {**plan.params, "percent": percent},
        ).all()
        sampled = max(sum(int(n) for part, _, n in rows if part == 1), 1)
        scale = documents / sampled
        total, facets = _count_facets((f, max(1, round(n * scale))) for part, f, n in rows if part == 0)
        floor = 0 if ranked else EXACT_COUNT + 1
        return max(total, floor), facets, [(key, s) for part, key, s in rows if part == 2]

    def _result(
        self,
        conn: Connection,
        plan: _Plan,
        ranked: list[tuple[str, float]],
        total: int,
        facets: dict[str, dict[str, int]],
        approximate: bool,
    ) -> SearchResult:
        return SearchResult(
            total=total,
            hits=self._hits(conn, ranked[plan.query.offset :], plan.analyzed),
            facets=facets,
            total_approximate=approximate,
            facets_approximate=approximate,
        )

    def _facet_counts(self, part: str, where: str = "") -> str:
        """The SELECT of (`part`, `facet:value`, documents) of the matches `m` (`where`): counted by id, named from
        `search_facets`."""
        return f"""SELECT {part}, v.value, c.n
                FROM (SELECT f, count(*)::float8 AS n FROM m, unnest(m.facet_ids) AS f {where} GROUP BY f) AS c
                JOIN {self.sql.facets} AS v ON v.id = c.f"""

    def _where(self, conn: Connection, query: SearchQuery) -> tuple[str, Params]:
        """Visibility and facet filters, as SQL applied before any ranking. A filter matches every case of its
        value: the ids of the values with its key are looked up first (bound as constants, the planner weighs
        them as it weighs any array)."""
        conditions: list[str] = ["true"]
        params: Params = {}
        viewer: Viewer = query.viewer
        if not viewer.is_admin:
            conditions.append("(visibility = 'network' OR visibility = :mine)")
            params["mine"] = municipality_visibility(viewer.municipality) if viewer.municipality else "network"
        wanted = sorted(
            {facet_key(f"{name}:{value}") for name, value in query.filters.items() if name in FACETS and value}
        )
        if wanted:
            ids: dict[str, list[int]] = dict(
                conn.execute(
                    text(
                        f"SELECT vkey, array_agg(id ORDER BY id) FROM {self.sql.facets} "
                        "WHERE vkey = ANY(CAST(:keys AS text[])) GROUP BY vkey"
                    ),
                    {"keys": wanted},
                ).all()
            )
            for i, key in enumerate(wanted):
                if key not in ids:
                    conditions.append("false")  # no document has that value
                    continue
                conditions.append(f"facet_ids && CAST(:facet{i} AS integer[])")
                params[f"facet{i}"] = ids[key]
        return " AND ".join(conditions), params

    def _documents(self, conn: Connection) -> int:
        """How many documents the index holds: the planner's figure once the table is analysed (it is kept by
        autovacuum and every rebuild), counted when the table is small."""
        return max(
            int(conn.execute(text(_DOCUMENTS.format(docs=self.sql.docs)), {"table": self.sql.docs}).scalar_one()), 1
        )

    def _groups(self, conn: Connection, analyzed: AnalyzedQuery) -> tuple[list[_Group], int]:
        """The query's terms with their document frequencies, and the number of documents; words the index
        does not know get the known words one or two letters away (from the trigram index)."""
        groups: list[_Group] = []
        lookups: list[tuple[int, bool, str]] = []
        alternatives: list[int] = []  # the alternative of the group each lookup belongs to (a phrase: one)
        own = set()  # the lookups of a term's own forms and prefixes: a word of the index among them makes it known
        for term in analyzed.terms:
            g = _Group(term=term, query="", lexemes=0)
            for form in dict.fromkeys(term.exact):
                lookups.append((len(groups), False, form))
                alternatives.append(len(lookups))
            for form in dict.fromkeys(term.prefixes):
                own.add(len(lookups))
                lookups.append((len(groups), True, form))
                alternatives.append(len(lookups))
            for phrase in term.phrases:
                alternative = len(lookups) + 1
                for form in dict.fromkeys(phrase):
                    lookups.append((len(groups), False, form))
                    alternatives.append(alternative)
            for phrase in term.prefix_phrases:
                alternative = len(lookups) + 1
                for i, form in enumerate(phrase):
                    lookups.append((len(groups), i == len(phrase) - 1, form))
                    alternatives.append(alternative)
            groups.append(g)
        frequencies, documents = self._frequencies(conn, lookups)
        rarest: dict[int, int] = {}  # alternative → documents with its rarest word
        for n, ((i, _, form), df, alternative) in enumerate(zip(lookups, frequencies, alternatives, strict=True)):
            g = groups[i]
            g.df = max(g.df, df)
            rarest[alternative] = min(rarest.get(alternative, df), df)
            # (as FTS5's: a half-typed compound's head, `best` of tolke + best…, does not make the word known)
            if df and (n in own or form in g.term.exact):
                g.known = True
        for (i, _, _), alternative in zip(lookups, alternatives, strict=True):
            groups[i].matches = max(groups[i].matches, rarest[alternative])
        for g in groups:
            term = g.term
            if g.known or not term.typos or (term.phrases and not term.exact):
                continue
            term.unknown = True
            for form in term.exact[:2]:
                distance = allowed_typos(form)
                if distance:
                    for near, df in self._near(conn, form, distance):
                        if near not in term.fuzzy:
                            term.fuzzy.append(near)
                            g.df = max(g.df, df)
                            g.matches = max(g.matches, df)
        kept = []
        for g in groups:
            built = term_query(g.term)
            if built is not None:
                g.query, g.lexemes = built
                g.df = min(g.df, documents)
                g.matches = min(g.matches, documents)
                kept.append(g)
        return kept, documents

    def _frequencies(self, conn: Connection, lookups: list[tuple[int, bool, str]]) -> tuple[list[int], int]:
        """Documents per form (per prefix: summed over the words it starts), and the number of documents."""
        row = conn.execute(
            text(
                f"""SELECT ARRAY(
                    SELECT CASE WHEN u.prefix
                        THEN (SELECT coalesce(sum(t.df), 0) FROM {self.sql.terms} AS t
                              WHERE t.term >= u.lo COLLATE "C" AND t.term < u.hi COLLATE "C" AND t.df > 0)
                        ELSE coalesce((SELECT t.df FROM {self.sql.terms} AS t
                                       WHERE t.term = u.lo COLLATE "C" AND t.df > 0), 0) END
                    FROM unnest(CAST(:prefix AS boolean[]), CAST(:lo AS text[]), CAST(:hi AS text[]))
                         WITH ORDINALITY AS u(prefix, lo, hi, n) ORDER BY u.n),
                ({_DOCUMENTS.format(docs=self.sql.docs)})"""
            ),
            {
                "prefix": [p for _, p, _ in lookups],
                "lo": [f for _, _, f in lookups],
                "hi": [_upper(f) if p else f for _, p, f in lookups],
                "table": self.sql.docs,
            },
        ).one()
        return [int(x) for x in row[0]], max(int(row[1]), 1)

    def _near(self, conn: Connection, form: str, distance: int) -> list[tuple[str, int]]:
        """(word, documents) of the known words at most `distance` edits from `form`, nearest first.

        pg_trgm proposes candidates (a loose similarity threshold, within the possible lengths); the same
        edit distance as FTS5's (optimal string alignment) decides.
        """
        conn.execute(
            text("SELECT set_config('pg_trgm.similarity_threshold', :t, true)"),
            {"t": str(_trigram_threshold(len(form), distance))},
        )
        ext = f'"{self.ext_schema}"'
        rows = conn.execute(
            text(
                f"""SELECT term, df FROM {self.sql.terms}
                WHERE term OPERATOR({ext}.%) :form AND length(term) BETWEEN :shortest AND :longest AND df > 0
                ORDER BY {ext}.similarity(term, :form) DESC, term LIMIT :limit"""
            ),
            {"form": form, "shortest": len(form) - distance, "longest": len(form) + distance, "limit": TYPO_CANDIDATES},
        ).all()
        found = []
        for term, df in rows:
            d = OSA.distance(form, term, score_cutoff=distance)
            if d <= distance:
                found.append((d, len(term), str(term), int(df)))
        found.sort()
        return [(term, df) for _, _, term, df in found[:TYPO_LIMIT]]

    def _hits(self, conn: Connection, ranked: Sequence[Any], analyzed: AnalyzedQuery) -> list[Hit]:
        """The page's hits, with snippets made from the original text: stored here, or (a type the database keeps
        itself) read from the document's own row in the same statement."""
        if not ranked:
            return []
        places = list(self.sql.external.items())
        columns = "".join(f', x{i}."{e.summary}", x{i}."{e.body}"' for i, (_, e) in enumerate(places))
        joins = "".join(
            f' LEFT JOIN "{e.table}" AS x{i} ON d.type = \'{t}\' AND d.body = {_EXTERNAL_SQL} AND x{i}."{e.key}" = d.id'
            for i, (t, e) in enumerate(places)
        )
        rows = {
            row[0]: row
            for row in conn.execute(
                text(
                    f"SELECT d.key, d.type, d.id, d.title, d.url, d.summary, d.body{columns} FROM {self.sql.docs} AS d"
                    f"{joins} WHERE d.key = ANY(CAST(:keys AS text[]))"
                ),
                {"keys": [key for key, _ in ranked]},
            ).all()
        }
        types = {t: i for i, (t, _) in enumerate(places)}
        hits = []
        for key, score in ranked:
            _, type_, id_, title, url, summary, body, *outside = rows[key]
            if body != EXTERNAL:
                body_text = unpack_body(body)
            elif type_ in types:  # (no row: nothing to show)
                summary, raw = outside[2 * types[type_] : 2 * types[type_] + 2]
                summary, body_text = summary or "", snippet_body(type_, raw or "")
            else:  # written by an instance that reads this type from its rows: not this one
                body_text = ""
            hits.append(make_hit(type_, id_, title, url, summary, body_text, round(float(score), 4), analyzed))
        return hits


def _count_facets(rows: Iterable[tuple[str, int]]) -> tuple[int, dict[str, dict[str, int]]]:
    """(total, facet → value → count) from (`facet:value`, count) rows: every document has one `type:` value."""
    out: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    counted = []
    for key, n in rows:
        name, _, value = str(key).partition(":")
        counted.append((name, value, n))
    total = 0
    for name, value, n in sorted(counted, key=lambda item: (-item[2], item[1])):
        out.setdefault(name, {})[value] = n
        if name == "type":
            total += n
    return total, out


@lru_cache(maxsize=64)
def _trigram_threshold(length: int, distance: int) -> float:
    """A pg_trgm similarity low enough that a word `distance` edits away is still proposed.

    A word of n letters has about n + 1 trigrams; one edit changes at most 4 of them (a transposition).
    """
    own = length + 1
    shared = max(own - 4 * distance, 1)
    longest = length + distance + 1
    return round(max(min(shared / (own + longest - shared), 0.3) * 0.9, 0.05), 3)
