"""The embedded backend with several processes on one folder: rebuilds, writes during a rebuild, and the
cost of the first search after a write."""

from __future__ import annotations

import fcntl
import multiprocessing
import random
import sqlite3
import threading
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.backends import fts5
from search.backends.fts5 import BATCH, FACET_TOKEN, Fts5Backend
from search.documents import Document, SearchQuery, Viewer
from tests.search.backends.test_base import many_robots

ADMIN = Viewer(is_admin=True)
SPAWN = multiprocessing.get_context("spawn")


def doc(id_: str, title: str, summary: str = "", **kw: Any) -> Document:
    facets = {"domain": [kw.pop("domain", "social")], "municipality": [kw.pop("municipality", "253")]}
    return Document(type="process", id=id_, title=title, url=f"/p/{id_}", summary=summary, facets=facets, **kw)


def ids(backend: Fts5Backend, text: str = "", **filters: str) -> list[str]:
    return [h.id for h in backend.search(SearchQuery(text=text, filters=filters, viewer=ADMIN, limit=100)).hits]


def generation_docs(tag: int, i: int) -> list[Document]:
    return [
        doc(f"d-{tag}-{i}-{k}", f"Indhentning af straffeattester {k}", "Robotten henter attester") for k in range(5)
    ]


# -------------------------------------------------------------- child processes (spawned: module level)


def _rebuild_waiting_for(directory: str, inside: Event, other_inside: Event, saw_other: Any) -> None:
    """Rebuild; in the middle, note whether the other process got into its rebuild meanwhile."""

    def docs() -> Iterator[Document]:
        yield doc("a", "Attester")
        inside.set()
        saw_other.value = other_inside.wait(1.0)  # never, while the lock serialises the rebuilds
        yield doc("b", "Tolkeregninger")

    Fts5Backend(Path(directory)).rebuild(docs())


def _rebuild_loop(directory: str, tag: int, rounds: int, start: Barrier) -> None:
    backend = Fts5Backend(Path(directory))
    start.wait()
    for i in range(rounds):
        backend.rebuild(generation_docs(tag, i))
    backend.close()


def _search_loop(directory: str, start: Barrier, stop: Event, out: Any) -> None:
    backend = Fts5Backend(Path(directory))
    start.wait()
    errors: list[str] = []
    searches = 0
    while not stop.is_set() or searches < 10:
        try:
            backend.search(SearchQuery(text="straffeattest", viewer=ADMIN))
            backend.count()
        except Exception as exc:  # what the test counts
            errors.append(f"{type(exc).__name__}: {exc}")
        searches += 1
    out.put((searches, errors[:5], len(errors)))


def _write_during_rebuild(directory: str) -> None:
    writer = Fts5Backend(Path(directory))
    writer.upsert([doc("ny", "Betaling af helbredstillæg", "Helt ny proces")])
    writer.upsert([doc("a", "Attester", "Nu også videotolkning")])
    writer.delete([("process", "c")])
    writer.close()


# -------------------------------------------------------------- 1. one rebuild at a time


def test_a_rebuild_holds_the_rebuild_lock(tmp_path: Path) -> None:
    backend = Fts5Backend(tmp_path)
    held: list[bool] = []

    def docs() -> Iterator[Document]:
        yield doc("a", "Attester")
        with open(tmp_path / "rebuild.lock", "a+b") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                held.append(False)
            except BlockingIOError:
                held.append(True)

    backend.rebuild(docs())
    assert held == [True]


def test_two_processes_rebuilding_at_once_take_turns(tmp_path: Path) -> None:
    Fts5Backend(tmp_path).rebuild([doc("x", "Gammel")])
    first_in, second_in = SPAWN.Event(), SPAWN.Event()
    first_saw, second_saw = SPAWN.Value("b", False), SPAWN.Value("b", False)
    first = SPAWN.Process(target=_rebuild_waiting_for, args=(str(tmp_path), first_in, second_in, first_saw))
    second = SPAWN.Process(target=_rebuild_waiting_for, args=(str(tmp_path), second_in, first_in, second_saw))
    first.start()
    assert first_in.wait(30)
    second.start()  # blocks on the lock until the first is done
    first.join(30)
    second.join(30)
    assert first.exitcode == second.exitcode == 0
    assert not first_saw.value, "the second rebuild ran while the first was still going"
    assert second_saw.value  # the first had been in, before
    assert sorted(ids(Fts5Backend(tmp_path))) == ["a", "b"]


# -------------------------------------------------------------- 2. no rebuild deletes another's file


def test_concurrent_rebuilds_never_leave_current_pointing_at_a_deleted_file(tmp_path: Path) -> None:
    Fts5Backend(tmp_path).rebuild(generation_docs(0, 0))
    rebuilders, rounds = 3, 8
    start = SPAWN.Barrier(rebuilders + 1)
    stop = SPAWN.Event()
    out = SPAWN.Queue()
    searcher = SPAWN.Process(target=_search_loop, args=(str(tmp_path), start, stop, out))
    workers = [
        SPAWN.Process(target=_rebuild_loop, args=(str(tmp_path), tag, rounds, start)) for tag in range(rebuilders)
    ]
    for p in [searcher, *workers]:
        p.start()
    for p in workers:
        p.join(60)
    stop.set()
    searches, errors, n_errors = out.get(timeout=60)
    searcher.join(30)
    assert [p.exitcode for p in workers] == [0] * rebuilders
    assert n_errors == 0, errors
    assert searches >= 10
    current = (tmp_path / "current").read_text().strip()
    assert (tmp_path / current).exists()
    backend = Fts5Backend(tmp_path)
    assert backend.count() == 5
    assert len(ids(backend, "straffeattest")) == 5
    leftovers = {p.name.split(".sqlite3")[0] + ".sqlite3" for p in tmp_path.glob("index-*")}
    assert leftovers == {current}


def test_a_reader_of_a_replaced_file_moves_to_the_new_one(tmp_path: Path) -> None:
    reader, rebuilder = Fts5Backend(tmp_path), Fts5Backend(tmp_path)
    rebuilder.rebuild([doc("gammel", "Straffeattester")])
    assert ids(reader, "straffeattest") == ["gammel"]
    rebuilder.rebuild([doc("ny", "Straffeattester")])
    assert ids(reader, "straffeattest") == ["ny"]
    reader.upsert([doc("ekstra", "Straffeattester igen")])
    assert sorted(ids(rebuilder, "straffeattest")) == ["ekstra", "ny"]


# -------------------------------------------------------------- 3. writes during a rebuild are kept


def _rebuild_with_writes_in_the_middle(tmp_path: Path, write: Any) -> Fts5Backend:
    backend = Fts5Backend(tmp_path)
    old = [doc("a", "Attester"), doc("b", "Tolkeregninger"), doc("c", "Udrejseregistrering")]
    backend.rebuild(old)
    midway, written = threading.Event(), threading.Event()

    def slow() -> Iterator[Document]:  # the database as read before the writes
        yield from old[:2]
        midway.set()
        assert written.wait(30)
        yield from old[2:]

    failures: list[BaseException] = []

    def run() -> None:
        try:
            backend.rebuild(slow())
        except BaseException as exc:  # reported below
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert midway.wait(30)
    write()
    written.set()
    thread.join(30)
    assert not failures
    return backend


def _assert_writes_kept(backend: Fts5Backend) -> None:
    for b in (backend, Fts5Backend(backend.directory)):
        assert ids(b, "helbredstillæg") == ["ny"]
        assert ids(b, "videotolkning") == ["a"]
        assert ids(b, "udrejseregistrering") == []
        assert b.count() == 3


def test_writes_from_another_process_during_a_rebuild_are_in_the_new_index(tmp_path: Path) -> None:
    def write() -> None:
        p = SPAWN.Process(target=_write_during_rebuild, args=(str(tmp_path),))
        p.start()
        p.join(30)
        assert p.exitcode == 0

    _assert_writes_kept(_rebuild_with_writes_in_the_middle(tmp_path, write))


def test_writes_from_another_thread_during_a_rebuild_are_in_the_new_index(tmp_path: Path) -> None:
    backend = _rebuild_with_writes_in_the_middle(tmp_path, lambda: _write_during_rebuild(str(tmp_path)))
    _assert_writes_kept(backend)
    journal = sqlite3.connect(tmp_path / (tmp_path / "current").read_text().strip())
    assert journal.execute("SELECT count(*) FROM journal").fetchone()[0] == 0  # not journaling any more
    assert journal.execute("SELECT value FROM meta WHERE key = 'rebuilding'").fetchone()[0] == ""


def test_a_failed_rebuild_stops_journaling(tmp_path: Path) -> None:
    backend = Fts5Backend(tmp_path)
    backend.rebuild([doc("a", "Attester")])

    def broken() -> Iterator[Document]:
        yield doc("b", "Tolk")
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        backend.rebuild(broken())
    backend.upsert([doc("c", "Udrejse")])
    conn = sqlite3.connect(tmp_path / (tmp_path / "current").read_text().strip())
    assert conn.execute("SELECT count(*) FROM journal").fetchone()[0] == 0
    assert sorted(ids(backend)) == ["a", "c"]
    assert len(list(tmp_path.glob("index-*.sqlite3"))) == 1


# -------------------------------------------------------------- 4. the first search after a write


def test_the_first_search_after_a_write_reads_no_whole_table(tmp_path: Path) -> None:
    backend = Fts5Backend(tmp_path)
    backend.rebuild([doc(f"p{i}", f"Betaling af tolkeregninger {i}", "Robotten betaler") for i in range(50)])
    assert ids(backend, "tolkeregnig")  # a typo: the vocabulary is loaded now
    statements: list[str] = []
    backend._conn().set_trace_callback(statements.append)
    backend.upsert([doc("ny", "Skrivefejlsordbog", "helt nyt ord")])
    statements.clear()
    assert ids(backend, "skrivefejlsordbg") == ["ny"]  # the new word is in the typo vocabulary at once
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert reads, "the trace saw nothing"
    whole = [s for s in reads if " WHERE " not in s.upper() and "FTS MATCH" not in s.upper()]
    assert not whole, whole


def test_a_write_logs_its_terms_in_one_row_and_a_log_of_a_term_a_row_is_read_too(tmp_path: Path) -> None:
    backend = Fts5Backend(tmp_path)
    backend.rebuild([doc("a", "Attester")])

    def vocabulary() -> fts5._Vocabulary:
        conn = backend._conn()
        return backend.vocabulary(conn, backend.snapshot(conn))

    assert "vandmelon" not in vocabulary()  # loaded now, and moved forward by each write's log from here on
    backend.upsert([doc("b", "Vandmelon")])
    assert "vandmelon" in vocabulary()
    backend.upsert([doc("c", "Helt nyt ord")])
    conn = _index_file(tmp_path)
    generation, logged = conn.execute("SELECT gen, term FROM changed_terms ORDER BY gen DESC").fetchone()
    assert set(logged.split(" ")) == {"helt", "nyt", "ord"}
    conn.execute("DELETE FROM changed_terms WHERE gen = ?", (generation,))  # as the previous version logged it
    conn.executemany("INSERT INTO changed_terms (gen, term) VALUES (?, ?)", [(generation, t) for t in logged.split()])
    conn.commit()
    conn.close()
    assert all(word in vocabulary() for word in ("helt", "nyt", "ord"))


@pytest.mark.parametrize("layer", [1000, 0], ids=["layered", "merged-every-write"])
def test_the_moved_forward_snapshot_answers_like_a_fresh_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layer: int
) -> None:
    monkeypatch.setattr(fts5, "LAYER_CHANGES", layer)  # 0: the changes are merged into new bases at once
    backend = Fts5Backend(tmp_path)
    backend.rebuild(
        [doc(f"p{i}", f"Betaling af tolkeregninger {i}", "Robotten betaler", domain="oekonomi") for i in range(30)]
    )
    queries = ["", "tolkeregninger", "tolkeregnig", "kladde", "helbredstilæg", "videotolk", "betaling"]
    for q in queries:
        ids(backend, q)  # snapshot and vocabulary loaded before the writes
    backend.upsert([doc("p1", "Betaling af helbredstillæg", "Nyt", domain="sundhed", municipality="999")])
    backend.upsert([doc("k", "Hemmelig kladde", "videotolkning", visibility="municipality:253", boost=2.0)])
    backend.delete([("process", "p2"), ("process", "p3")])
    backend.upsert([doc(f"p{i}", f"Betaling af tolkeregninger {i}", "Robotten betaler") for i in range(20, 25)])
    fresh = Fts5Backend(tmp_path)
    for viewer in (ADMIN, Viewer(), Viewer(municipality="253")):
        for q in queries:
            for filters in ({}, {"domain": "sundhed"}, {"municipality": "999"}):
                query = SearchQuery(text=q, viewer=viewer, filters=filters, limit=100)
                a, b = backend.search(query), fresh.search(query)
                assert (a.total, [(h.id, h.score) for h in a.hits], a.facets) == (
                    b.total,
                    [(h.id, h.score) for h in b.hits],
                    b.facets,
                ), (q, viewer, filters)
    conn = backend._conn()
    assert set(conn.execute("SELECT term, n FROM terms")) == set(  # the words: the facet tokens are not words
        conn.execute(f"SELECT term, doc FROM vocab WHERE doc > 0 AND term NOT GLOB '{FACET_TOKEN}*'")
    )


# -------------------------------------------------------------- 5. rebuild streams


def test_rebuild_writes_the_documents_as_they_come(tmp_path: Path) -> None:
    backend = Fts5Backend(tmp_path)
    in_file: list[int] = []

    def docs() -> Iterator[Document]:
        for i in range(3 * BATCH):
            if i == 2 * BATCH + 1:
                current = (tmp_path / "current").read_text().strip()
                (new,) = [p for p in tmp_path.glob("index-*.sqlite3") if p.name != current]
                with sqlite3.connect(new) as conn:
                    in_file.append(conn.execute("SELECT count(*) FROM docs").fetchone()[0])
            yield doc(f"p{i}", f"Proces {i}")

    assert backend.rebuild(docs()) == 3 * BATCH
    assert in_file and in_file[0] >= BATCH  # already written before the generator was done


def test_term_counts_use_the_index_tokenizer() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    assert fts5._term_counts(conn, ["Æble æble-grød x_y", "æble 2x"]) == {"æble": 2, "grød": 1, "x": 1, "y": 1, "2x": 1}


def test_term_counts_split_in_python_equal_the_tokenizer_s() -> None:
    """Analysed text of plain lower-case words is counted in Python; it must count as FTS5 would."""
    from bench.catalogue_gen import processes
    from bench.fts5_after_write import code_files
    from search.fields import indexed_fields

    texts = [" ".join(indexed_fields(d).analysed) for d in [*processes(150, seed=5), *code_files(50)]]
    texts += ["a  b", " lead and trail ", "x_y z", "Upper case", "ærø koge", "tab\there", "", "2x 2x 10"]
    assert sum(1 for t in texts if fts5._PLAIN_TOKENS.fullmatch(t)) > 190  # most take the fast way
    conn = sqlite3.connect(":memory:", isolation_level=None)
    assert fts5._term_counts(conn, texts) == fts5._tokenizer_term_counts(conn, texts)


@given(st.text(alphabet=st.sampled_from("az09  \n\t-_Aæ\x00é"), max_size=40))
def test_texts_of_plain_words_are_told_as_the_pattern_tells_them(text: str) -> None:
    assert fts5._is_plain(text) == bool(fts5._PLAIN_TOKENS.fullmatch(text))


def test_a_rebuild_that_died_leaves_no_journaling_behind(tmp_path: Path) -> None:
    backend = Fts5Backend(tmp_path)
    backend.rebuild([doc("a", "Attester")])
    conn = sqlite3.connect(tmp_path / (tmp_path / "current").read_text().strip())
    with conn:  # what a rebuild killed in the middle leaves
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'rebuilding'")
    backend.upsert([doc("b", "Tolk")])
    assert conn.execute("SELECT count(*) FROM journal").fetchone()[0] == 0
    assert conn.execute("SELECT value FROM meta WHERE key = 'rebuilding'").fetchone()[0] == ""


def test_many_matches_are_estimated_and_said_to_be(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fts5, "EXACT_COUNT", 50)  # 300 documents count as very many
    backend = Fts5Backend(tmp_path / "search")
    backend.rebuild(many_robots())
    admin = Viewer(is_admin=True)
    result = backend.search(SearchQuery(text="robot", viewer=admin))
    assert (result.total_approximate, result.facets_approximate) == (True, True)
    assert 100 <= result.total <= 600
    assert len({h.id for h in result.hits}) == 20

    rare = backend.search(SearchQuery(text="sjældenord", viewer=admin))
    assert (rare.total, rare.total_approximate, rare.facets["domain"]) == (10, False, {"skole": 10})
    filtered = backend.search(SearchQuery(text="robot", filters={"municipality": "999"}, viewer=admin))
    assert (filtered.total, filtered.total_approximate) == (20, False)

    both = backend.search(SearchQuery(text="robot sjældenord", viewer=admin))
    assert both.total_approximate
    assert {h.id for h in both.hits[:10]} == {f"p{i:03d}" for i in range(7, 300, 30)}  # every word first
    first, second = (
        [h.id for h in backend.search(SearchQuery(text="robot", viewer=admin, offset=o, limit=10)).hits]
        for o in (0, 10)
    )
    assert not set(first) & set(second)
    assert backend.search(SearchQuery(text="", viewer=admin)).total_approximate


@pytest.mark.parametrize("delta", [3, 20_000])
def test_the_vocabulary_after_writes_equals_one_loaded_afresh(delta: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Changes are kept beside the loaded list (or merged in past VOCABULARY_DELTA): either way the vocabulary
    answers as one loaded from scratch with the same terms."""
    from search.backends import fts5

    monkeypatch.setattr(fts5, "VOCABULARY_DELTA", delta)
    rng = random.Random(7)
    words = sorted({"".join(rng.choice("abcdeo") for _ in range(rng.randint(3, 9))) for _ in range(400)})
    current = set(words[:200])
    vocabulary = fts5._Vocabulary(sorted(current))
    for _ in range(30):  # writes: terms come and go, some come back
        present = set(rng.sample(words, 12))
        absent = set(rng.sample(sorted(current), 8)) - present
        vocabulary = vocabulary.changed(present, absent)
        current = (current | present) - absent
        fresh = fts5._Vocabulary(sorted(current))
        for word in words:
            assert (word in vocabulary) == (word in fresh), word
        for prefix in {w[:2] for w in words} | {w[:4] for w in words}:
            assert vocabulary.has_prefix(prefix) == fresh.has_prefix(prefix), prefix
        for word in words[::25]:
            assert sorted(vocabulary.near(word, 1, limit=100)) == sorted(fresh.near(word, 1, limit=100))


# -------------------------------------------------------------- the contentless layout


def _index_file(directory: Path) -> sqlite3.Connection:
    return sqlite3.connect(directory / (directory / "current").read_text().strip())


def _index_state(directory: Path) -> tuple[list[Any], ...]:
    """What the index holds, by term (documents, occurrences), by term and column and offset, the counts, the
    tokens of each document's columns and of all of them (which BM25 scores by)."""
    conn = _index_file(directory)
    conn.execute("CREATE VIRTUAL TABLE temp.rows USING fts5vocab(main, fts, 'row')")
    conn.execute("CREATE VIRTUAL TABLE temp.places USING fts5vocab(main, fts, 'instance')")
    rows = conn.execute("SELECT term, doc, cnt FROM temp.rows ORDER BY term").fetchall()
    keys = dict(conn.execute("SELECT rowid, key FROM docs"))
    places = sorted(
        (term, keys[rowid], col, offset)
        for term, rowid, col, offset in conn.execute("SELECT term, doc, col, offset FROM temp.places")
    )
    terms = conn.execute("SELECT term, n FROM terms ORDER BY term").fetchall()
    sizes = sorted((keys[rowid], size) for rowid, size in conn.execute("SELECT id, sz FROM fts_docsize"))
    totals = conn.execute("SELECT block FROM fts_data WHERE id = 1").fetchall()  # the row count and column totals
    conn.close()
    return rows, places, terms, sizes, totals


def test_replaced_and_deleted_documents_leave_the_index_as_a_fresh_one(tmp_path: Path) -> None:
    """Removing a document from a contentless FTS5 table takes the values it was indexed with: done right, the
    index after writes is the index of what is left, term for term and position for position."""
    first = [
        doc("a", "Indhentning af børne- og straffeattester", "Robotten henter attester fra politiet"),
        doc(
            "b",
            "Betaling af tolkeregninger",
            "Tolkeregninger betales i KMD Opus",
            body="Lang beskrivelse " * 20,
            meta="KMD Opus",
        ),
        doc("c", "Kontrol af lægeerklæringer", "Erklæringer fra lægen", meta="Nexus · Python"),
        doc("g", "Σύστημα ΣΑΣ", "Ǆ ﬁnans İstanbul", body="ελληνικά " * 5),  # not split by str.split alone
    ]
    written = Fts5Backend(tmp_path / "written")
    written.rebuild(first)
    written.upsert([doc("b", "Betaling af medicinregninger", "Medicinregninger matches mod fakturaer")])
    written.delete([("process", "c")])
    written.upsert([doc("d", "Refusion af sygedagpenge", "Sygedagpengerefusioner fra NemRefusion")])
    left = [first[0], doc("b", "Betaling af medicinregninger", "Medicinregninger matches mod fakturaer")]
    left.append(doc("d", "Refusion af sygedagpenge", "Sygedagpengerefusioner fra NemRefusion"))
    written.upsert([left[2], left[0], doc("e", "Refusion af sygedagpenge"), left[1]])  # three unchanged, one new
    written.delete([("process", "e")])
    written.upsert([first[3], doc("h", "Attest", "Attester attester attester", body="x " * 40)])
    written.upsert([first[3], doc("h", "Attest", "Attester attester attester", body="x " * 40)])  # replaced again
    left += [first[3], doc("h", "Attest", "Attester attester attester", body="x " * 40)]
    fresh = Fts5Backend(tmp_path / "fresh")
    fresh.rebuild(left)

    assert _index_state(tmp_path / "written") == _index_state(tmp_path / "fresh")
    conn = _index_file(tmp_path / "written")
    conn.execute("INSERT INTO fts (fts, rank) VALUES ('integrity-check', 0)")  # raises on a damaged index
    conn.close()
    assert ids(written, "tolkeregninger") == [] and ids(written, "lægeerklæring") == []
    assert ids(written, "medicinregninger") == ["b"]


def test_the_term_counts_follow_documents_replaced_with_the_same_fewer_or_other_words(tmp_path: Path) -> None:
    """A document replaced counts only the words it gained and lost; the counts stay the index's own."""
    backend = Fts5Backend(tmp_path)
    backend.upsert(
        [
            doc("a", "Betaling af tolkeregninger", "Robotten betaler"),
            doc("b", "Kontrol af attester", "Robotten kontrollerer attester"),
            doc("c", "Hent sager fra Nexus"),
            doc("d", "Σύστημα ΣΑΣ 𠀀𝐀", "Robotten"),  # not split by str.split alone: counted by the tokenizer
        ]
    )
    backend.upsert(
        [
            doc("a", "Betaling af tolkeregninger", "Robotten betaler"),  # the same words
            doc("b", "Kontrol af erklaeringer", "Robotten"),  # some kept, some lost, one gained
            doc("c", "Σύστημα sager"),  # no longer plain
            doc("d", "Hent sager"),  # plain now
            doc("e", "Robotten betaler nye regninger"),
        ]
    )
    backend.delete([("process", "a")])
    conn = backend._conn()
    terms = dict(conn.execute("SELECT term, n FROM terms"))
    assert terms == dict(conn.execute(f"SELECT term, doc FROM vocab WHERE doc > 0 AND term NOT GLOB '{FACET_TOKEN}*'"))
    assert "tolkeregning" not in terms and "attest" not in terms and terms["robot"] == 2  # b and e


@given(st.lists(st.text(alphabet=st.sampled_from("ab1 "), max_size=12), max_size=5))
def test_the_words_of_plain_fields_are_counted_as_str_split_counts_them(fields: list[str]) -> None:
    assert fts5._token_counts(fields) == [len(f.split()) for f in fields]


@given(st.lists(st.text(max_size=6) | st.sampled_from(["sag", "æøå", '"', "\\", "a,b", '","'])))
def test_strings_go_to_sqlite_as_the_json_array_of_them(texts: list[str]) -> None:
    import json

    assert json.loads(fts5._json_strings(texts)) == texts


def test_a_document_kept_as_terms_is_removed_with_its_words_and_each_field_s_number_of_tokens() -> None:
    fields = ["betaling betaling af tolkeregninger", "", "af robotten af af", "x"]
    words = set(" ".join(fields).split())
    values, distinct = fts5._unpack(fts5._pack_terms(fts5._token_counts(fields), words, "zzf0"))
    assert [len(v.split()) for v in values[:4]] == [4, 0, 4, 1] and values[4] == "zzf0"
    assert set(distinct or ()) == words == set(" ".join(values[:4]).split())
    assert set(" ".join(values[:4]).split()[len(words) :]) == {(distinct or [])[0]}  # the rest: one word again


def test_the_index_holds_no_copy_of_the_analysed_text(tmp_path: Path) -> None:
    backend = Fts5Backend(tmp_path)
    body = "Robotten henter straffeattester fra politiet og journaliserer dem i eDoc. " * 20
    backend.rebuild([doc("a", "Indhentning af straffeattester", "Robotten henter attester", body=body)])
    conn = _index_file(tmp_path)
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "fts_content" not in tables  # FTS5 keeps no copy
    (packed,) = conn.execute("SELECT fields FROM analysed").fetchone()
    values, _ = fts5._unpack(packed)
    assert "straffeattest" in values[0].split()  # compressed, for removing it
    assert len(packed) * 4 < len(" ".join(values))
    conn.close()


def test_text_stored_zstd_compressed_and_an_index_of_zlib_records_still_answers_and_changes(tmp_path: Path) -> None:
    """Stored text is zstd-compressed now; an index written before (zlib: bodies, and analysed fields whole and as
    terms) still gives its snippets, and its documents are replaced and removed exactly."""
    import zlib

    backend = Fts5Backend(tmp_path)
    body = "Robotten henter straffeattester fra politiet og journaliserer dem i eDoc."
    backend.rebuild([doc("a", "Indhentning af straffeattester", body=body), doc("b", "Tolkeregninger")])
    backend.upsert([doc("c", "Betaling af tolkeregninger", "Robotten betaler")])  # kept as terms
    conn = _index_file(tmp_path)
    stored = conn.execute("SELECT body FROM docs").fetchall() + conn.execute("SELECT fields FROM analysed").fetchall()
    assert {bytes(b)[:4] for (b,) in stored} <= {b"\x28\xb5\x2f\xfd", fts5.AS_TERMS + b"\x28\xb5\x2f"}  # zstd frames
    state = _index_state(tmp_path)

    def as_zlib(packed: bytes) -> bytes:
        if packed[:1] == fts5.AS_TERMS:
            return fts5.AS_TERMS + zlib.compress(fts5._decompress(packed[1:]).encode(), 1)
        return zlib.compress(fts5._decompress(packed).encode(), 1)

    for table, column in (("docs", "body"), ("analysed", "fields")):
        rows = conn.execute(f"SELECT rowid, {column} FROM {table}").fetchall()
        conn.executemany(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", [(as_zlib(b), r) for r, b in rows])
    conn.commit()
    assert all(bytes(b)[:1] in (b"\x78", fts5.AS_TERMS) for (b,) in conn.execute("SELECT fields FROM analysed"))
    conn.close()
    assert _index_state(tmp_path) == state
    found = Fts5Backend(tmp_path).search(SearchQuery(text="politiet"))
    assert [h.id for h in found.hits] == ["a"] and "<mark>politiet</mark>" in found.hits[0].snippet

    backend.upsert([doc("a", "Indhentning af straffeattester", body="Nu fra kommunen."), doc("c", "Betaling")])
    backend.delete([("process", "b")])
    assert ids(backend, "politiet") == [] and ids(backend, "kommunen") == ["a"] and ids(backend, "tolkeregning") == []
    conn = _index_file(tmp_path)
    terms = dict(conn.execute("SELECT term, n FROM terms"))
    assert terms == dict(conn.execute(f"SELECT term, doc FROM vocab WHERE doc > 0 AND term NOT GLOB '{FACET_TOKEN}*'"))
    conn.execute("INSERT INTO fts (fts) VALUES ('integrity-check')")  # (a wrong removal corrupts a contentless table)
    conn.close()


def test_an_index_of_an_older_layout_is_replaced_by_an_empty_one_and_rebuilt(tmp_path: Path) -> None:
    backend = Fts5Backend(tmp_path)
    backend.rebuild([doc("a", "Indhentning af straffeattester")])
    backend.close()
    old = tmp_path / (tmp_path / "current").read_text().strip()
    conn = sqlite3.connect(old)
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")  # as the previous version wrote it
    conn.commit()
    conn.close()

    again = Fts5Backend(tmp_path)
    assert again.count() == 0  # the app sees an empty index over a catalogue with data and rebuilds it
    assert not old.exists()
    again.rebuild([doc("a", "Indhentning af straffeattester")])
    assert ids(again, "straffeattest") == ["a"]
    conn = _index_file(tmp_path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == fts5.SCHEMA_VERSION
    conn.close()


# -------------------------------------------------------------- 6. cost that follows the answer


def test_facet_filters_are_applied_inside_the_index_before_scoring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = Fts5Backend(tmp_path)
    backend.rebuild(
        [
            doc(f"p{i}", f"Robot nummer {i}", "robotten", domain="sundhed" if i % 50 == 0 else "oekonomi")
            for i in range(300)
        ]
    )
    scored: list[int] = []
    original = Fts5Backend._scored

    def counting(conn: sqlite3.Connection, snap: Any, match: str) -> Iterator[tuple[int, float]]:
        for item in original(conn, snap, match):
            scored.append(item[0])
            yield item

    monkeypatch.setattr(Fts5Backend, "_scored", staticmethod(counting))
    assert sorted(ids(backend, "robot", domain="Sundhed")) == sorted(f"p{i}" for i in range(0, 300, 50))
    assert len(set(scored)) == 6  # only the documents in the filter were read and scored, not the 294 others
    scored.clear()
    assert len(ids(backend, "robot")) == 100


def test_a_prefix_is_searched_as_the_few_words_it_starts(tmp_path: Path) -> None:
    backend = Fts5Backend(tmp_path)
    backend.rebuild([doc("a", "Robotten kører"), doc("b", "Robotter i drift"), doc("c", "Robust drift")])
    conn = backend._conn()
    vocab = backend.vocabulary(conn, backend.snapshot(conn))
    assert vocab.starting_with("robot", 32) == ["robot", "robotten", "robotter"]
    assert vocab.starting_with("robot", 1) is None  # more words than the limit: the prefix query itself
    assert sorted(ids(backend, "robot")) == ["a", "b"]
    backend.upsert([doc("d", "Robotics i kommunen")])  # a word added after the vocabulary was loaded
    assert sorted(ids(backend, "robot")) == ["a", "b", "d"]
