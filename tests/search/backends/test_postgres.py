"""What only the PostgreSQL backend promises: indexing inside the caller's transaction, several instances on
one schema, typo candidates from SQL, a streaming and atomic rebuild, exact document frequencies."""

from __future__ import annotations

import contextlib
import dataclasses
import random
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from search.analysis import QueryTerm, parse_query
from search.backends import open_backend, postgres
from search.backends.fts5 import Fts5Backend
from search.backends.postgres import BATCH, PENDING_LISTS, PostgresBackend, lexeme_quote, term_query, tsvector_literal
from search.documents import Document, ExternalBody, SearchQuery, Viewer
from search.fields import indexed_fields
from tests.search.backends.test_base import DOCS, many_robots, proc
from tests.search.conftest import PG_URL, new_schema

ADMIN = Viewer(is_admin=True)
MakePostgres = Callable[..., PostgresBackend]
QUOTING_SCHEMA = new_schema()


def ids(backend: PostgresBackend, text_: str) -> list[str]:
    return [h.id for h in backend.search(SearchQuery(text=text_, viewer=ADMIN, limit=50)).hits]


def async_url() -> str:
    return make_url(PG_URL).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


async def test_apply_indexes_inside_the_callers_transaction(make_postgres: MakePostgres) -> None:
    backend = make_postgres()
    backend.rebuild(DOCS)
    engine = create_async_engine(async_url())
    try:
        async with engine.connect() as conn:
            tx = await conn.begin()
            await backend.apply(conn, [proc("ny", "Udbetaling af kørselsgodtgørelse")], [("process", "tolk")])
            assert ids(backend, "kørselsgodtgørelse") == []  # not before the commit
            await tx.rollback()
        assert ids(backend, "kørselsgodtgørelse") == []
        assert ids(backend, "tolkeregninger") == ["tolk"]

        async with engine.begin() as conn:
            await backend.apply(conn, [proc("ny", "Udbetaling af kørselsgodtgørelse")], [("process", "tolk")])
        assert ids(backend, "kørselsgodtgørelse") == ["ny"]
        assert ids(backend, "godtgørelse") == ["ny"]
        assert ids(backend, "tolkeregninger") == []
        assert backend.count() == len(DOCS)
    finally:
        await engine.dispose()


def test_two_backends_on_one_schema_see_each_others_writes(make_postgres: MakePostgres) -> None:
    first = make_postgres()
    second = make_postgres(first.sql.schema)
    first.rebuild(DOCS)
    assert ids(second, "tolk") == ["tolk"]
    second.upsert([proc("vikar", "Adgang for vikarer")])
    assert ids(first, "vikar") == ["vikar"]
    first.delete([("process", "vikar")])
    assert ids(second, "vikar") == []


def test_typos_are_found_from_the_trigram_index(make_postgres: MakePostgres) -> None:
    backend = make_postgres()
    backend.rebuild(DOCS)
    assert ids(backend, "tolkeregnnger")[0] == "tolk"  # one letter missing
    assert ids(backend, "udrejsergistrering")[0] == "udrejse"
    assert ids(backend, "spøgelsesbogrere")[0] == "udrejse"  # two letters swapped
    with backend.engine.connect() as conn:  # the candidates come from SQL, a handful at a time
        assert len(backend._near(conn, "tolkeregnnger", 2)) <= 6


def test_a_half_typed_readings_head_does_not_stop_typo_correction(make_postgres: MakePostgres, tmp_path: Any) -> None:
    # `afgøreesen` (afgørelsen, a letter wrong) is also read as afgør + sen… (a half-typed head), and `sen…` begins a
    # word of the index (sendes): the word itself is still unknown, and corrected, as on FTS5
    docs = [proc("afg", "Afgørelsen om boligstøtte", "Borgeren får brev."), proc("brev", "Breve sendes", "")]
    assert ["afgor", "sen"] in parse_query("afgøreesen").terms[0].prefix_phrases
    backend = make_postgres()
    fts5 = Fts5Backend(tmp_path / "fts5")
    for each in (backend, fts5):
        each.rebuild(docs)
    assert ids(backend, "afgøreesen") == ["afg"]
    assert [h.id for h in fts5.search(SearchQuery(text="afgøreesen", viewer=ADMIN)).hits] == ["afg"]


def test_rebuild_streams_and_is_atomic_for_readers(make_postgres: MakePostgres) -> None:
    backend = make_postgres()
    backend.rebuild(DOCS)
    inserts = 0

    def count_inserts(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal inserts
        inserts += "INSERT INTO" in statement and "search_documents" in statement

    event.listen(backend.engine, "before_cursor_execute", count_inserts)
    n = BATCH * 2 + 7
    other = make_postgres(backend.sql.schema)
    errors: list[BaseException] = []

    def write_meanwhile() -> None:  # waits for the rebuild, then replaces one of its documents
        try:
            other.upsert([proc("p3", "Ændret proces om kvistvinduer")])
        except BaseException as exc:  # reported below
            errors.append(exc)

    writer = threading.Thread(target=write_meanwhile)

    def documents() -> Iterator[Document]:
        for i in range(n):
            if i == BATCH + 1:
                assert inserts >= 1  # the first chunk is written before the rest is read
                assert ids(backend, "tolkeregninger") == ["tolk"]  # readers still see the old index
                assert backend.count() == len(DOCS)
                writer.start()
            yield proc(f"p{i}", f"Registrering af sag nummer {i}")

    assert backend.rebuild(documents()) == n
    writer.join()
    assert errors == []
    assert ids(backend, "kvistvinduer") == ["p3"]
    assert backend.count() == n
    assert ids(backend, "tolkeregninger") == []
    found = backend.search(SearchQuery(text="registrering", viewer=ADMIN))
    # p3 was replaced; above EXACT_COUNT the total is an estimate (from a sample of the table) and says so
    assert found.total == n - 1 or (found.total_approximate and abs(found.total - (n - 1)) <= n // 50)


def vocabulary_and_count(backend: PostgresBackend) -> tuple[dict[str, int], dict[str, int]]:
    """(the vocabulary's document counts as kept, the documents' words counted now)."""
    with backend.engine.connect() as conn:
        kept = dict(conn.execute(text(f"SELECT term, df FROM {backend.sql.terms}")).all())
        counted = dict(
            conn.execute(
                text(f"SELECT t, count(*) FROM {backend.sql.docs}, unnest(tsvector_to_array(tsv)) AS t GROUP BY t")
            ).all()
        )
    return kept, counted


def test_document_frequencies_stay_exact(make_postgres: MakePostgres) -> None:
    backend = make_postgres()
    backend.rebuild(DOCS)
    backend.upsert([proc("tolk", "Betaling af tolkeregninger", "Nu også videotolkning.")])
    backend.upsert([proc("tolk", "Betaling af tolkeregninger", "Nu også videotolkning.")])
    backend.delete([("process", "udrejse"), ("process", "findes-ikke")])
    kept, counted = vocabulary_and_count(backend)
    assert kept == counted
    assert "videotolkning" in kept and "udrejseregistrering" not in kept


def test_the_vocabularys_counts_change_in_place(make_postgres: MakePostgres) -> None:
    """A write changes the counts of the known words its documents hold (a new bot's files share most of their
    words with the others): each changed count is a HOT update, its new version in the same page and no new entry in
    the primary key or the trigram index. That takes room in the pages and no index naming `df`; a vocabulary made by
    an earlier version (full pages, a partial index on `df` to find the words no document holds any more) is given
    both when a backend starts on it, its pages when the index is rebuilt. The words a write leaves without
    documents are removed all the same, and the note of them is empty after each write."""
    backend = make_postgres()
    backend.rebuild(DOCS)
    schema, terms = backend.sql.schema, backend.sql.terms
    written = 0

    def updates(b: PostgresBackend) -> tuple[int, int]:
        """(counts changed, of them in place) by a write of two new documents of known words, in its transaction."""
        nonlocal written
        written += 1
        docs = [proc(f"ny{written}{i}", "Betaling af tolkeregninger", "Udrejse og attester") for i in range(2)]
        counters = text(  # (this session's, not yet reported to the statistics: earlier transactions' too)
            "SELECT pg_stat_get_xact_tuples_updated(CAST(:t AS regclass)), "
            "pg_stat_get_xact_tuples_hot_updated(CAST(:t AS regclass))"
        )
        with b.engine.begin() as conn:
            before = conn.execute(counters, {"t": terms}).one()
            for statement, params in b.sql.write(docs, []):
                conn.execute(statement, params)
            after = conn.execute(counters, {"t": terms}).one()
        return after[0] - before[0], after[1] - before[1]

    def layout() -> tuple[list[str], list[str]]:
        with backend.engine.connect() as conn:
            options = conn.execute(
                text("SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": terms}
            ).scalar_one()
            indexes = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE schemaname = :s AND tablename = 'search_terms'"),
                {"s": schema},
            ).scalars()
            # (an index naming the column: `(df)`, `WHERE (df <= 0)`; the random schema's name may hold "df" too)
            return list(options), [i for i in indexes if "(df" in i]

    assert layout() == ([f"fillfactor={postgres.TERMS_FILLFACTOR}"], [])
    changed, in_place = updates(backend)
    assert changed > 5 and in_place == changed
    with backend.engine.begin() as conn:  # as an earlier version made it
        conn.execute(text(f"ALTER TABLE {terms} RESET (fillfactor)"))
        conn.execute(text(f"CREATE INDEX search_terms_unused ON {terms} (term) WHERE df <= 0"))
    changed, in_place = updates(backend)
    assert changed > 5 and in_place == 0  # every count's new version entered in every index
    again = make_postgres(schema)
    assert layout() == ([f"fillfactor={postgres.TERMS_FILLFACTOR}"], [])
    again.rebuild(DOCS)  # the vocabulary written anew, with room in its pages
    changed, in_place = updates(again)
    assert changed > 5 and in_place == changed
    again.delete([("process", "udrejse")])
    again.upsert([proc("tolk", "Betaling af tolkeregninger", "Nu også videotolkning.")])
    with again.engine.connect() as conn:
        kept = set(conn.execute(text(f"SELECT term FROM {terms}")).scalars())
        assert conn.execute(text(f"SELECT count(*) FROM {again.sql.emptied}")).scalar_one() == 0
    assert "udrejseregistrering" not in kept and "videotolkning" in kept


def test_a_write_looks_up_the_words_it_emptied_by_key(make_postgres: MakePostgres) -> None:
    """The last statement of a write removes the words it left without documents: looked up in the vocabulary's
    primary key, not by reading the whole vocabulary (joined to the note of them, the planner read it all: 4 ms a
    write with 21,000 words)."""
    backend = make_postgres()
    backend.rebuild([proc("mange", "Mange ord", " ".join(f"ordnummer{i}x" for i in range(4000)))])
    with backend.engine.begin() as conn:
        conn.execute(text(f"ANALYZE {backend.sql.terms}"))
        statement, params = backend.sql.write([proc("tolk", "Betaling af tolkeregninger")], [])[-1]
        plan = "\n".join(conn.execute(text(f"EXPLAIN {statement.text}"), params).scalars())
        conn.rollback()
    assert "search_terms_pkey" in plan and not re.search(r"Seq Scan on search_terms\b(?!_)", plan), plan


def test_concurrent_writers_keep_the_counts_exact(make_postgres: MakePostgres) -> None:
    """Writers on several connections add, replace and delete documents that share words, some of them each
    other's last documents of a word: no deadlock, the counts equal the documents' words, and no word without
    documents is left (nor a note of one)."""
    backend = make_postgres()
    backend.rebuild(DOCS)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(12):
                own = f"w{n}x{i % 3}"
                backend.upsert([proc(own, f"Delt sag {i % 4} om ordnummer{i % 5}", f"Kun hos skriver{n}{i % 2}")])
                backend.delete([("process", f"w{(n + 1) % 4}x{i % 3}")])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    kept, counted = vocabulary_and_count(backend)
    assert kept == counted
    with backend.engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {backend.sql.emptied}")).scalar_one() == 0


def test_a_table_of_the_older_layout_is_brought_up_to_date(make_postgres: MakePostgres) -> None:
    """The lexemes were once kept a second time in a `terms` column (NOT NULL): starting on such a table drops
    it, and the index then writes and counts as ever."""
    backend = make_postgres()
    backend.rebuild(DOCS)
    with backend.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {backend.sql.docs} ADD COLUMN terms text[] NOT NULL DEFAULT '{{}}'"))
        conn.execute(text(f"ALTER TABLE {backend.sql.docs} ALTER COLUMN terms DROP DEFAULT"))
    again = make_postgres(backend.sql.schema)
    again.upsert([proc("tolk", "Betaling af tolkeregninger", "Nu også videotolkning.")])
    with again.engine.connect() as conn:
        columns = conn.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_schema = :s"),
            {"s": backend.sql.schema},
        ).scalars()
        assert "terms" not in set(columns)
    assert [h.id for h in again.search(SearchQuery(text="videotolkning", viewer=ADMIN)).hits] == ["tolk"]


def started_again(make_postgres: MakePostgres, schema: str) -> tuple[PostgresBackend, dict[str, str], dict[str, str]]:
    """A backend started on the schema (bringing its table up to date), the table's columns with their types (and
    storage: `m`ain, …) and its indexes' definitions."""
    again = make_postgres(schema)
    again.ensure_schema()
    with again.engine.connect() as conn:
        columns = dict(
            conn.execute(
                text(
                    "SELECT c.column_name, c.data_type || ' ' || CAST(a.attstorage AS text) "
                    "FROM information_schema.columns AS c "
                    "JOIN pg_attribute AS a ON a.attrelid = CAST(:t AS regclass) AND a.attname = c.column_name "
                    "WHERE c.table_schema = :s AND c.table_name = 'search_documents'"
                ),
                {"s": schema, "t": again.sql.docs},
            ).all()
        )
        indexes = dict(
            conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s"), {"s": schema}).all()
        )
    return again, columns, indexes


def test_a_table_of_the_layout_before_one_vector_is_converted(make_postgres: MakePostgres) -> None:
    """The weighted lexemes were once kept a second time in a `rank` vector (and the title's index made on it),
    `tsv` holding every lexeme without positions, and the body was text: starting on such a table converts it in
    place, and the index finds, ranks and quotes as it did; documents written afterwards are stored compressed."""
    backend = make_postgres()
    backend.rebuild(DOCS)
    queries = ["tolkeregninger", "attester", "betaling automatisk", "cpr", "koege", "spøgelsesborgere"]

    def answers(b: PostgresBackend) -> dict[str, list[Any]]:
        return {q: [dataclasses.astuple(h) for h in b.search(SearchQuery(text=q, viewer=ADMIN)).hits] for q in queries}

    before = answers(backend)
    docs, schema = backend.sql.docs, backend.sql.schema
    with backend.engine.begin() as conn:  # the older layout, made from the same documents
        bodies = [
            {"key": key, "body": postgres.unpack_body(body)}
            for key, body in conn.execute(text(f"SELECT key, body FROM {docs}")).all()
        ]
        conn.execute(text(f'DROP INDEX "{schema}".search_documents_title'))
        conn.execute(text(f"ALTER TABLE {docs} ADD COLUMN rank tsvector, ALTER COLUMN body TYPE text USING ''"))
        conn.execute(text(f"UPDATE {docs} SET rank = ts_filter(tsv, '{{a,b,c,d}}'), tsv = strip(tsv)"))
        conn.execute(text(f"UPDATE {docs} SET body = :body WHERE key = :key"), bodies)
        conn.execute(text(f"ALTER TABLE {docs} ALTER COLUMN rank SET NOT NULL"))
        conn.execute(text(f"CREATE INDEX search_documents_title ON {docs} USING gin (ts_filter(rank, '{{a}}'))"))
    again, columns, indexes = started_again(make_postgres, schema)
    assert "rank" not in columns and columns["body"].startswith("bytea ")
    assert "ts_filter(tsv" in indexes["search_documents_title"]
    assert answers(again) == before
    again.upsert(
        [proc("tolk", "Betaling af tolkeregninger", "Nu også videotolkning.", body="Kvitteringen arkiveres i eDoc.")]
    )
    assert ids(again, "videotolkning") == ["tolk"]
    assert "<mark>Kvitteringen</mark>" in again.search(SearchQuery(text="kvitteringen", viewer=ADMIN)).hits[0].snippet
    with again.engine.connect() as conn:
        stored = conn.execute(text(f"SELECT body FROM {docs} WHERE key = 'process:tolk'")).scalar_one()
    assert stored == postgres.pack_body("Kvitteringen arkiveres i eDoc.")


QUERIES = ["tolkeregninger", "attester", "betaling automatisk", "cpr", "koege", "spøgelsesborgere", "politiet"]


def answers(backend: PostgresBackend) -> dict[str, list[Any]]:
    """Every hit of a few queries, whole (id, score, snippet, …)."""
    return {
        q: [dataclasses.astuple(h) for h in backend.search(SearchQuery(text=q, viewer=ADMIN)).hits] for q in QUERIES
    }


@contextlib.contextmanager
def processes_table(backend: PostgresBackend, docs: list[Document]) -> Iterator[dict[str, ExternalBody]]:
    """A table (on the search path) holding the processes' summaries and bodies, as the catalogue's does, and
    where it is; dropped afterwards."""
    table = f"ext_{backend.sql.schema}"
    with backend.engine.begin() as conn:
        conn.execute(text(f'CREATE TABLE "{table}" (id varchar(140) PRIMARY KEY, summary text, description text)'))
        conn.execute(
            text(f'INSERT INTO "{table}" VALUES (:id, :summary, :body)'),
            [{"id": d.id, "summary": d.summary, "body": d.body} for d in docs if d.type == "process"],
        )
    try:
        yield {"process": ExternalBody(table, "id", "summary", "description")}
    finally:
        with backend.engine.begin() as conn:
            conn.execute(text(f'DROP TABLE "{table}"'))


def test_external_summaries_and_bodies_are_read_from_their_rows(make_postgres: MakePostgres) -> None:
    """A type whose text the database keeps itself: the index keeps no copy of its summary and body, and answers
    exactly as one that keeps them (the snippets made from the rows)."""
    docs = [
        *DOCS,
        dataclasses.replace(DOCS[1], id="md", body="Se **tolkeregninger** i [eDoc](https://x)."),
        Document(type="municipality", id="253", title="Brøndby", url="/municipalities/253", summary="Kommunekode 253"),
    ]
    kept = make_postgres()
    kept.rebuild(docs)
    with processes_table(kept, docs) as external:
        outside = make_postgres(external=external)
        outside.rebuild(docs)
        assert answers(outside) == answers(kept)
        found = {h.id: h.snippet for h in outside.search(SearchQuery(text="edoc", viewer=ADMIN)).hits}
        assert found["md"] == "Se tolkeregninger i <mark>eDoc</mark>."  # the row's Markdown as plain text
        with outside.engine.begin() as conn:  # a new process: its row first, as in the catalogue's transaction
            conn.execute(text(f"INSERT INTO \"{external['process'].table}\" VALUES ('ny', 'Hver måned.', 'Kørsel')"))
        for backend in (outside, kept):
            backend.upsert([proc("ny", "Godtgørelse af kørsel", "Hver måned.", body="Kørsel")])
        assert answers(outside) == answers(kept)
        assert [h.snippet for h in outside.search(SearchQuery(text="måned", viewer=ADMIN)).hits] == [
            "Hver <mark>måned</mark>."
        ]
        with outside.engine.connect() as conn:
            stored = conn.execute(text(f"SELECT DISTINCT type, summary, body FROM {outside.sql.docs}")).all()
        assert {(t, s, bytes(b)) for t, s, b in stored if t == "process"} == {("process", "", postgres.EXTERNAL)}
        assert any(s for t, s, _ in stored if t != "process")  # other types keep theirs
        assert postgres.unpack_body(postgres.EXTERNAL) == ""  # the version before reads it as an empty body
    with pytest.raises(ValueError):
        make_postgres(external={"process": ExternalBody("processes; DROP", "id", "summary", "description")})


def test_a_table_of_the_layout_with_body_positions_and_bodies_is_converted(make_postgres: MakePostgres) -> None:
    """The body's first lexemes had positions (weight D) and a process's summary and body were kept in the index:
    starting on such a table converts it in place, once, and the index answers exactly as before."""
    kept = make_postgres()
    documents = [*DOCS, dataclasses.replace(DOCS[1], id="md", body="Kvitteringen for tolkningen arkiveres i eDoc.")]
    kept.rebuild(documents)
    before = answers(kept)
    docs, schema = kept.sql.docs, kept.sql.schema
    old = []  # the vectors as the older layout wrote them: the body's first 32 new lexemes with a D position
    for doc in documents:
        a_title, a_summary, a_body, a_meta = indexed_fields(doc).analysed
        known = set(" ".join((a_title, a_summary, a_meta)).split())
        rest = [t for t in dict.fromkeys(a_body.split()) if t not in known]
        weighted, _ = tsvector_literal([(a_title, "A"), (a_summary, "B"), (a_meta, "C"), (" ".join(rest[:32]), "D")])
        old.append({"key": doc.key, "tsv": " ".join(filter(None, (weighted, postgres.lexemes_literal(rest[32:]))))})
    with kept.engine.begin() as conn:
        conn.execute(text(f"UPDATE {docs} SET tsv = CAST(:tsv AS tsvector) WHERE key = :key"), old)
        conn.execute(text(f"COMMENT ON COLUMN {docs}.tsv IS NULL"))
        assert conn.execute(text(f"SELECT count(*) FROM {docs} WHERE ts_filter(tsv, '{{d}}') <> ''")).scalar_one()
    assert answers(kept) == before
    with processes_table(kept, documents) as external:
        again = make_postgres(schema, external)
        assert answers(again) == before
        with again.engine.connect() as conn:
            assert not conn.execute(
                text(f"SELECT count(*) FROM {docs} WHERE ts_filter(tsv, '{{d}}') <> ''")
            ).scalar_one()
            assert (
                conn.execute(
                    text(f"SELECT count(*) FROM {docs} WHERE type = 'process' AND body <> :e"), {"e": postgres.EXTERNAL}
                ).scalar_one()
                == 0
            )
            storage = dict(
                conn.execute(
                    text(
                        "SELECT attname, attstorage::text || attcompression::text FROM pg_attribute "
                        "WHERE attrelid = CAST(:t AS regclass) AND attname IN ('tsv', 'summary')"
                    ),
                    {"t": docs},
                ).all()
            )
        assert storage == {"tsv": "ml", "summary": "m"}  # MAIN, the vector compressed with lz4
        with again.engine.begin() as conn:  # done once: a table already converted is left as it is
            conn.execute(text(f"UPDATE {docs} SET summary = 'kept' WHERE key = 'process:tolk'"))
        make_postgres(schema, external).ensure_schema()
        with again.engine.connect() as conn:
            assert conn.execute(text(f"SELECT summary FROM {docs} WHERE key = 'process:tolk'")).scalar_one() == "kept"


def test_ensure_schema_from_several_threads_at_once(make_postgres: MakePostgres) -> None:
    schema = make_postgres().sql.schema + "_x"
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []
    made: list[PostgresBackend] = []

    def start() -> None:
        barrier.wait()
        try:
            made.append(make_postgres(schema))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(made) == 6 and all(b.count() == 0 for b in made)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example("o'brien")
@example("back\\slash")
@example("x'|'y")
@example("a:b&!c")
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=40))
def test_any_lexeme_survives_quoting(make_postgres: MakePostgres, word: str) -> None:
    """Whatever a lexeme holds (quotes, backslashes, tsquery operators), it stays one lexeme."""
    backend = make_postgres(QUOTING_SCHEMA)
    with backend.engine.connect() as conn:
        vector, query = conn.execute(
            text(
                "SELECT tsvector_to_array(CAST(:v AS tsvector)), "
                "tsquery_phrase(CAST(:q AS tsquery), CAST(:q AS tsquery))"
            ),
            {"v": tsvector_literal([(word, "A")])[0], "q": lexeme_quote(word)},
        ).one()
    assert vector == [word]
    assert str(query) == f"{lexeme_quote(word)} <-> {lexeme_quote(word)}"


@given(st.lists(st.sampled_from(["attest", "a'b", "c\\d", "x", "", "2x", "øl"]), max_size=8), st.booleans())
def test_vector_literals_quote_every_lexeme_as_lexeme_quote_does(lexemes: list[str], weighted: bool) -> None:
    """Lexemes without a quote or backslash are quoted all at once: the literals are those quoted one by one."""
    if weighted:
        text = " ".join(w for w in lexemes if w)
        positions: dict[str, list[str]] = {}
        for pos, token in enumerate(text.split(), 1):
            positions.setdefault(token, []).append(f"{pos}B")
        expected = " ".join(f"{lexeme_quote(lexeme)}:{','.join(ps)}" for lexeme, ps in positions.items())
        literal, found = tsvector_literal([(text, "B")])
        assert (literal, list(found)) == (expected, list(positions))
    else:
        assert postgres.lexemes_literal(lexemes) == " ".join(lexeme_quote(lexeme) for lexeme in lexemes)


def plain_vector_literal(fields: list[tuple[str, str]]) -> str:
    """A `tsvector` literal made the straightforward way: one position at a time, each lexeme quoted alone."""
    positions: dict[str, list[str]] = {}
    pos = 0
    for analysed, weight in fields:
        for token in analysed.split():
            pos += 1
            kept = positions.setdefault(token, [])
            if pos <= postgres.MAX_POSITION and len(kept) < postgres.MAX_POSITIONS:
                kept.append(f"{pos}{weight}")
            elif not kept:
                kept.append(f"{postgres.MAX_POSITION}{weight}")
    return " ".join(f"{lexeme_quote(lexeme)}:{','.join(ps)}" for lexeme, ps in positions.items())


@example([("a " * 40, "A"), ("a b " * 30, "C")])
@example([("a,b " * 12 + "x " * 30, "B"), ("y a,b", "C")])
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(["a", "b", "a'b", "c\\d", "a,b", "æ:1"]), max_size=40).map(" ".join),
            st.sampled_from("ABCD"),
        ),
        max_size=4,
    )
)
def test_vector_literals_are_those_made_position_by_position(fields: list[tuple[str, str]]) -> None:
    """The literal is written lexeme entry by lexeme entry, from position labels made once: it is the one made
    one position at a time, also past the limits (made small here) on positions and on positions per lexeme."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(postgres, "MAX_POSITION", 50)
        patch.setattr(postgres, "MAX_POSITIONS", 10)
        patch.setattr(postgres, "LABELS", 20)
        literal, lexemes = tsvector_literal(fields)
        assert literal == plain_vector_literal(fields)
    assert list(lexemes) == list(dict.fromkeys(" ".join(text for text, _ in fields).split()))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(['a"b', "c\\d", "{x}", "NULL", " sp ace ", "æ,ø", "", "'"])
@example([])
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")), max_size=6))
def test_any_list_of_text_survives_the_array_literal(make_postgres: MakePostgres, values: list[str]) -> None:
    """Facet values go to PostgreSQL as one `text[]` literal: whatever they hold, they come back as they were."""
    backend = make_postgres(QUOTING_SCHEMA)
    with backend.engine.connect() as conn:
        found = conn.execute(
            text("SELECT CAST(CAST(:a AS text) AS text[])"), {"a": postgres.text_array(values)}
        ).scalar_one()
    assert found == values


def test_a_batch_of_rows_is_stored_as_written(make_postgres: MakePostgres) -> None:
    """The rows of a write go as one array literal per column (bodies as base64): whatever a title, summary,
    facet or body holds, the stored row is the one `document_row` made, in a write and in a rebuild."""
    backend = make_postgres()
    awkward = "a\"b \\c {d},e NULL 'f' æ"
    docs = [
        Document(
            type=t,
            id=f"{t}-{i}{awkward}",
            title=f"Titel {i} {awkward}",
            url=f"/x/{i}?q={awkward}",
            summary=f"Resumé {awkward}" if i else "",
            body=f"Brødtekst {i} {awkward}" * (i + 1),
            visibility="network" if i else "municipality:253",
            facets={"domain": [f"økonomi{awkward}", "it"], "municipality": ["253"]} if i else {},
            boost=0.7 + i,
        )
        for t in ("process", "code")
        for i in range(3)
    ]
    facets = f"ARRAY(SELECT f.value FROM {backend.sql.facets} AS f WHERE f.id = ANY(d.facet_ids) ORDER BY f.value)"
    columns = f"key, type, id, title, url, summary, body, visibility, boost, tsv::text, {facets}"

    def stored() -> list[tuple[Any, ...]]:
        with backend.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(f"SELECT {columns} FROM {backend.sql.docs} AS d ORDER BY key"))]

    def expected() -> list[tuple[Any, ...]]:
        with backend.engine.connect() as conn:
            rows = []
            for doc in sorted(docs, key=lambda d: d.key):
                row = postgres.document_row(doc)
                vector = conn.execute(text("SELECT CAST(CAST(:v AS tsvector) AS text)"), {"v": row["tsv"]}).scalar()
                rows.append(
                    (*(row[c] for c in ("key", "type", "id", "title", "url", "summary", "body", "visibility")),)
                    + (pytest.approx(row["boost"]), vector, sorted(row["facets"]))
                )
            return rows

    backend.upsert(docs)
    assert stored() == expected()
    assert [postgres.unpack_body(r[6]) for r in stored()] == [d.body for d in sorted(docs, key=lambda d: d.key)]
    backend.rebuild(docs)
    assert stored() == expected()


def test_term_query_mirrors_fts5_groups() -> None:
    term = QueryTerm(text="attest", exact=["attest", "attester"], prefixes=["attest"], phrases=[["straf", "attest"]])
    query, lexemes = term_query(term) or ("", 0)
    assert query == "('attest':* | ('straf' & 'attest'))"
    assert lexemes == 3
    assert term_query(QueryTerm(text="")) is None


def test_open_backend_chooses_by_configuration(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[tuple[str, Any]] = []
    # the real one would create its tables in `public`; the choice is what is tested here
    monkeypatch.setattr(postgres, "PostgresBackend", lambda url, external: opened.append((url, external)) or "postgres")
    external = {"process": ExternalBody("processes", "id", "summary", "description")}
    sqlite = "sqlite+aiosqlite:///x.sqlite3"
    assert isinstance(open_backend(tmp_path), Fts5Backend)
    assert isinstance(open_backend(tmp_path, database_url=sqlite), Fts5Backend)
    assert isinstance(open_backend(tmp_path, database_url=PG_URL, engine="fts5"), Fts5Backend)
    assert open_backend(tmp_path, database_url=async_url()) == "postgres"  # type: ignore[comparison-overlap]
    assert open_backend(tmp_path, None, None, "rpabank", "postgres://db/x", "postgres", external) == "postgres"  # type: ignore[comparison-overlap]
    assert opened == [(async_url(), None), ("postgres://db/x", external)]
    with pytest.raises(ValueError):
        open_backend(tmp_path, database_url=sqlite, engine="postgres")
    with pytest.raises(ValueError):
        open_backend(tmp_path, engine="elastic")


@pytest.fixture
def small_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounds small enough that 300 documents count as very many."""
    monkeypatch.setattr(postgres, "EXACT_COUNT", 50)
    monkeypatch.setattr(postgres, "BROAD_MATCHES", 100)
    monkeypatch.setattr(postgres, "SAMPLE_ROWS", 150)


@pytest.mark.usefixtures("small_bounds")
def test_many_matches_are_estimated_and_said_to_be(make_postgres: MakePostgres) -> None:
    backend = make_postgres()
    backend.rebuild(many_robots())
    result = backend.search(SearchQuery(text="robot", viewer=ADMIN))
    assert (result.total_approximate, result.facets_approximate) == (True, True)
    assert 100 <= result.total <= 600
    # (each count is scaled from the sample and rounded on its own: the sum may be off by half a document each)
    domains = result.facets["domain"]
    assert abs(sum(domains.values()) - result.facets["type"]["process"]) <= len(domains)
    assert len({h.id for h in result.hits}) == 20
    assert result.hits[0].id == "p150"  # the title match is always a candidate

    rare = backend.search(SearchQuery(text="sjældenord", viewer=ADMIN))
    assert (rare.total, rare.total_approximate, rare.facets_approximate) == (10, False, False)
    assert rare.facets["domain"] == {"skole": 10}

    filtered = backend.search(SearchQuery(text="robot", filters={"municipality": "999"}, viewer=ADMIN))
    assert (filtered.total, filtered.total_approximate) == (20, False)
    assert {h.id for h in filtered.hits} == {f"p{i}" for i in range(280, 300)}


@pytest.mark.usefixtures("small_bounds")
def test_many_matches_rank_every_word_first_and_page_stably(make_postgres: MakePostgres) -> None:
    backend = make_postgres()
    backend.rebuild(many_robots())
    both = backend.search(SearchQuery(text="robot sjældenord", viewer=ADMIN))
    assert both.total_approximate
    assert {h.id for h in both.hits[:10]} == {f"p{i:03d}" for i in range(7, 300, 30)}

    pages = [backend.search(SearchQuery(text="robot", viewer=ADMIN, offset=o, limit=10)).hits for o in (0, 10)]
    first, second = ([h.id for h in page] for page in pages)
    assert not set(first) & set(second)
    again = backend.search(SearchQuery(text="robot", viewer=ADMIN, offset=0, limit=10))
    assert [h.id for h in again.hits] == first
    assert backend.search(SearchQuery(text="", viewer=ADMIN)).total_approximate


def test_gin_indexes_keep_a_small_pending_list(make_postgres: MakePostgres) -> None:
    """New GIN entries wait in a pending list that every search reads from start to end: each index is made with a
    small bound on it (not PostgreSQL's 4 MB), the bound holds through a write larger than it, and an index made
    by an earlier version (without a list, or with the default one) is given it, its waiting entries merged in,
    when a backend starts on the schema."""
    backend = make_postgres()
    schema = backend.sql.schema
    wanted = {name: sorted(["fastupdate=on", f"gin_pending_list_limit={kb}"]) for name, kb in PENDING_LISTS.items()}

    def options() -> dict[str, list[str]]:
        with backend.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT c.relname, coalesce(c.reloptions, '{}') FROM pg_class AS c "
                    "JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = :s AND c.relam = "
                    "(SELECT oid FROM pg_am WHERE amname = 'gin')"
                ),
                {"s": schema},
            ).all()
        return {name: sorted(opts) for name, opts in rows}

    def merged_kb() -> dict[str, int]:
        """The pending list's size of each index, in kB, merging it into the index (its pages, each 8 kB)."""
        with backend.engine.begin() as conn:
            return {
                name: 8
                * conn.execute(
                    text("SELECT gin_clean_pending_list(CAST(:i AS regclass))"), {"i": f'"{schema}"."{name}"'}
                ).scalar_one()
                for name in PENDING_LISTS
            }

    assert options() == wanted
    backend.rebuild(many_robots())  # makes its indexes anew
    assert options() == wanted
    assert merged_kb() == dict.fromkeys(PENDING_LISTS, 0)

    def write(prefix: str) -> None:  # 2,400 new words: ~400 kB of trigram entries, more than any bound
        titles = [" ".join(f"{prefix}{i}x{j}" for j in range(4)) for i in range(600)]
        backend.upsert(dataclasses.replace(DOCS[0], id=f"{prefix}{i}", title=t) for i, t in enumerate(titles))
        assert backend.search(SearchQuery(text=f"{prefix}599x3", viewer=ADMIN)).total == 1  # pending or merged

    write("ord")
    after = merged_kb()
    assert all(after[name] <= kb + 8 for name, kb in PENDING_LISTS.items()), after  # (a page over, at most)
    assert after["search_terms_trgm"] > 0  # the new words' entries went through the list
    with backend.engine.begin() as conn:  # as earlier versions made them
        conn.execute(text(f'ALTER INDEX "{schema}".search_documents_tsv RESET (gin_pending_list_limit)'))
        conn.execute(text(f'ALTER INDEX "{schema}".search_documents_tsv SET (fastupdate = off)'))
        conn.execute(text(f'ALTER INDEX "{schema}".search_terms_trgm RESET (gin_pending_list_limit)'))
        conn.execute(text(f'ALTER INDEX "{schema}".search_documents_title RESET (fastupdate, gin_pending_list_limit)'))
    write("mere")  # into PostgreSQL's default list of 4 MB: left there
    assert options()["search_documents_tsv"] == ["fastupdate=off"]
    assert options()["search_documents_title"] == []
    again = make_postgres(schema)
    assert options() == wanted
    merged = merged_kb()
    switched = ["search_documents_tsv", "search_documents_title", "search_terms_trgm"]
    assert {name: merged[name] for name in switched} == dict.fromkeys(switched, 0)  # merged in on start
    assert {h.id for h in again.search(SearchQuery(text="sjældenord", viewer=ADMIN)).hits} == {
        h.id for h in backend.search(SearchQuery(text="sjældenord", viewer=ADMIN)).hits
    }
    assert again.search(SearchQuery(text="mere599x3", viewer=ADMIN)).total == 1


def test_more_matches_than_counted_are_estimated_from_the_words_document_counts(
    make_postgres: MakePostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between EXACT_COUNT and BROAD_MATCHES the first matches are counted and scored in one statement, and the
    total comes from the words' document counts (no second pass over a sample) when no filter narrows them."""
    monkeypatch.setattr(postgres, "EXACT_COUNT", 50)
    backend = make_postgres()
    backend.rebuild(many_robots())
    statements: list[str] = []
    event.listen(backend.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    result = backend.search(SearchQuery(text="softwarerobot", viewer=ADMIN))
    assert (result.total_approximate, result.facets_approximate) == (True, True)
    assert 280 <= result.total <= 320  # every one of the 300 has the word
    assert sum(result.facets["domain"].values()) == pytest.approx(result.total, rel=0.05)
    assert not [s for s in statements if "TABLESAMPLE" in s]
    assert result.hits[0].id == "p150"  # the title match still ranks first

    filtered = backend.search(SearchQuery(text="softwarerobot", filters={"domain": "skole"}, viewer=ADMIN))
    assert filtered.total_approximate and 60 <= filtered.total <= 140  # a hundred: estimated from a sample


def test_an_estimate_counts_no_draft_the_viewer_may_not_see(
    make_postgres: MakePostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "EXACT_COUNT", 50)
    backend = make_postgres()
    docs = [  # a hundred drafts of municipality 999
        dataclasses.replace(doc, visibility="municipality:999") if i < 100 else doc
        for i, doc in enumerate(many_robots())
    ]
    backend.rebuild(docs)

    def total(viewer: Viewer) -> int:
        result = backend.search(SearchQuery(text="softwarerobot", viewer=viewer))
        assert result.total_approximate
        return result.total

    assert 280 <= total(ADMIN) <= 320
    assert 185 <= total(Viewer()) <= 215  # the network's 200
    assert 185 <= total(Viewer(municipality="253")) <= 215
    assert 280 <= total(Viewer(municipality="999")) <= 320  # its own drafts too


def test_a_rebuilt_table_keeps_its_columns_in_the_row(make_postgres: MakePostgres) -> None:
    """Only the body may move out of the row (into TOAST): every match reads the vector and the facets, and an
    EXTENDED title or facet list of a wide row would each be a TOAST row of its own."""
    backend = make_postgres()
    backend.rebuild(DOCS)
    backend.rebuild(DOCS)  # the rebuild's table is made like the old one
    with backend.engine.connect() as conn:
        storage = dict(
            conn.execute(
                text(
                    "SELECT attname, attstorage FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) AND attnum > 0"
                ),
                {"t": backend.sql.docs},
            ).all()
        )
    assert {column for column, kind in storage.items() if kind != "m"} == {"body", "boost"}


# each its own value as written; the first two (and the third and fourth) one value in any case
AWKWARD = ['Økonomi, "løn" {x}', 'økonomi,  "LØN" {X}', "a\\b NULL", "A\\B null", "NULL"]


def facet_docs() -> list[Document]:
    return [
        proc(f"f{i}", f"Facetproces {i}", "Robotten flytter sager.", domain=value, systems=[value, "eDoc"])
        for i, value in enumerate(AWKWARD)
    ]


def facet_answers(backend: PostgresBackend) -> dict[str, Any]:
    """The facets of a search, and the documents a filter in another case finds."""

    def found(**filters: str) -> list[str]:
        return sorted(h.id for h in backend.search(SearchQuery(filters=filters, viewer=ADMIN, limit=50)).hits)

    return {
        "facets": backend.search(SearchQuery(text="robotten", viewer=ADMIN)).facets,
        "økonomi": found(domain='ØKONOMI, "Løn" {X}'),
        "økonomi-system": found(system='økonomi, "løn"  {x}', domain='Økonomi, "løn" {x}'),
        "ab": found(domain="a\\B Null"),
        "null": found(domain="null"),
        "none": found(domain="økonomi"),
        "edoc": found(system="EDOC", domain="null"),
    }


def test_facet_values_are_counted_as_written_and_filtered_in_any_case(make_postgres: MakePostgres) -> None:
    """Facet values are kept once, as ids of `search_facets` rows: counted as written (each case its own value),
    found by a filter in any case and spacing, whatever they hold (quotes, commas, braces, backslashes, NULL); in
    a rebuild and in writes; a value no document has any more goes at the next rebuild."""
    backend = make_postgres()
    backend.rebuild(facet_docs())
    expected = {
        "økonomi": ["f0", "f1"],
        "økonomi-system": ["f0", "f1"],
        "ab": ["f2", "f3"],
        "null": ["f4"],
        "none": [],
        "edoc": ["f4"],
    }
    answers = facet_answers(backend)
    assert answers["facets"]["domain"] == dict.fromkeys(AWKWARD, 1)
    assert answers["facets"]["system"] == {"eDoc": 5, **dict.fromkeys(AWKWARD, 1)}
    assert {k: v for k, v in answers.items() if k != "facets"} == expected

    backend.upsert([proc("f5", "Facetproces 5", "Robotten flytter sager.", domain='ØKONOMI, "LØN" {X}')])
    backend.delete([("process", "f4")])
    answers = facet_answers(backend)
    assert answers["facets"]["domain"] == {**dict.fromkeys(AWKWARD[:4], 1), 'ØKONOMI, "LØN" {X}': 1}
    assert answers["økonomi"] == ["f0", "f1", "f5"] and answers["null"] == []

    def stored() -> set[str]:
        with backend.engine.connect() as conn:
            return set(conn.execute(text(f"SELECT value FROM {backend.sql.facets}")).scalars())

    assert "domain:NULL" in stored()
    backend.rebuild([*facet_docs()[:4], proc("f5", "Facetproces 5", domain='ØKONOMI, "LØN" {X}')])
    assert "domain:NULL" not in stored() and "system:eDoc" in stored()
    assert facet_answers(backend)["økonomi"] == ["f0", "f1", "f5"]


@pytest.mark.usefixtures("small_bounds")
def test_estimated_facets_are_counted_as_written_and_filtered_in_any_case(make_postgres: MakePostgres) -> None:
    backend = make_postgres()
    docs = many_robots()
    for i, doc in enumerate(docs):  # half of the schools' as "Skole"
        if doc.facets["domain"] == ["skole"] and i % 2:
            docs[i] = dataclasses.replace(doc, facets={**doc.facets, "domain": ["Skole"]})
    backend.rebuild(docs)
    result = backend.search(SearchQuery(text="robot", viewer=ADMIN))
    assert result.facets_approximate
    assert {"skole", "Skole", "oekonomi", "social"} == set(result.facets["domain"])
    filtered = backend.search(SearchQuery(text="softwarerobot", filters={"domain": "SKOLE"}, viewer=ADMIN))
    assert 60 <= filtered.total <= 140  # a hundred
    assert set(filtered.facets["domain"]) == {"skole", "Skole"}


def test_writers_of_one_new_facet_value_share_its_row(make_postgres: MakePostgres) -> None:
    """Two writers entering the same new value: the second waits for the first's commit and then uses its row.
    (Their documents have no word in common: a writer of the same word would wait for the first at that word.)"""
    backend = make_postgres()
    backend.rebuild(DOCS)
    other = make_postgres(backend.sql.schema)
    errors: list[BaseException] = []

    def write_meanwhile() -> None:
        try:
            other.upsert([proc("b", "Tagrender", domain="Nyt domæne")])
        except BaseException as exc:  # reported below
            errors.append(exc)

    writer = threading.Thread(target=write_meanwhile)
    with backend.engine.connect() as conn:
        with conn.begin():
            for statement, params in backend.sql.write([proc("a", "Kvistvinduer", domain="Nyt domæne")], []):
                conn.execute(statement, params)
            writer.start()
            writer.join(0.5)
            assert writer.is_alive()  # waiting for this transaction's value
        writer.join()
    assert errors == []
    with backend.engine.connect() as conn:
        rows = (
            conn.execute(text(f"SELECT id FROM {backend.sql.facets} WHERE value = 'domain:Nyt domæne'")).scalars().all()
        )
        used = (
            conn.execute(
                text(f"SELECT DISTINCT f FROM {backend.sql.docs}, unnest(facet_ids) AS f WHERE id IN ('a', 'b')")
            )
            .scalars()
            .all()
        )
    assert len(rows) == 1 and rows[0] in used
    found = backend.search(SearchQuery(filters={"domain": "nyt DOMÆNE"}, viewer=ADMIN))
    assert sorted(h.id for h in found.hits) == ["a", "b"]
    assert found.facets["domain"] == {"Nyt domæne": 2}


def test_a_table_of_the_layout_before_search_facets_is_converted(make_postgres: MakePostgres) -> None:
    """Facet values were kept twice in each row, as written (`facets`) and as keys (`facet_keys`, indexed),
    and there was no `search_facets`: starting on such a table converts it in place (the values entered with
    their keys, the rows given their ids), and searches, facets and filters answer as before."""
    backend = make_postgres()
    backend.rebuild([*DOCS, *facet_docs()])
    before = (answers(backend), facet_answers(backend))
    docs, schema = backend.sql.docs, backend.sql.schema
    with backend.engine.begin() as conn:  # the older layout, made from the same documents
        rows = conn.execute(
            text(
                f"SELECT d.key, ARRAY(SELECT f.value FROM {backend.sql.facets} AS f "
                f"WHERE f.id = ANY(d.facet_ids) ORDER BY f.value) FROM {docs} AS d"
            )
        ).all()
        conn.execute(text(f"ALTER TABLE {docs} DROP COLUMN facet_ids, ADD facets text[], ADD facet_keys text[]"))
        conn.execute(
            text(f"UPDATE {docs} SET facets = :facets, facet_keys = :keys WHERE key = :key"),
            [
                {"key": key, "facets": values, "keys": sorted({postgres.facet_key(v) for v in values})}
                for key, values in rows
            ],
        )
        conn.execute(text(f"ALTER TABLE {docs} ALTER facets SET NOT NULL, ALTER facet_keys SET NOT NULL"))
        conn.execute(text(f"CREATE INDEX search_documents_facets ON {docs} USING gin (facet_keys)"))
        conn.execute(text(f"DROP TABLE {backend.sql.facets}"))
    again, columns, indexes = started_again(make_postgres, schema)
    assert "facets" not in columns and "facet_keys" not in columns and columns["facet_ids"] == "ARRAY m"
    assert "(facet_ids)" in indexes["search_documents_facets"]
    assert (answers(again), facet_answers(again)) == before
    again.upsert([proc("f9", "Facetproces 9", "Robotten flytter sager.", domain="NULL")])
    assert facet_answers(again)["null"] == ["f4", "f9"]


def test_the_rows_of_a_batch_are_written_largest_first(
    make_postgres: MakePostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL puts a row into the first page with room for it: written largest first, the smaller rows fill
    the room the larger left, and the table has fewer pages than with the rows in the documents' order."""
    rng = random.Random(7)
    words = [f"ord{i}x" for i in range(3000)]
    docs = [proc(f"p{i}", f"Proces {i}", " ".join(rng.sample(words, rng.randint(40, 170)))) for i in range(400)]
    backend = make_postgres()

    def pages() -> int:
        backend.rebuild(docs)
        with backend.engine.connect() as conn:
            size = conn.execute(text("SELECT pg_relation_size(CAST(:t AS regclass))"), {"t": backend.sql.docs})
            return int(size.scalar_one()) // 8192

    packed = pages()
    monkeypatch.setattr(postgres, "_stored_size", lambda row: 0)  # the documents' order
    assert packed < pages()  # (107 and 113)
