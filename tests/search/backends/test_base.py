"""The contract every search backend keeps: FTS5 always, Meilisearch when RPABANK_TEST_MEILI_URL is set."""

from __future__ import annotations

import pytest

from search.backends.base import SearchBackend
from search.documents import Document, SearchQuery, Viewer

ADMIN = Viewer(is_admin=True)


def proc(id_: str, title: str, summary: str = "", **kw: object) -> Document:
    facets = {
        "domain": [kw.pop("domain", "social")],
        "phase": [kw.pop("phase", "operation")],
        "system": list(kw.pop("systems", [])),
        "technology": list(kw.pop("technologies", [])),
        "municipality": list(kw.pop("municipalities", ["253"])),
    }
    return Document(type="process", id=id_, title=title, url=f"/processes/{id_}", summary=summary, facets=facets, **kw)  # type: ignore[arg-type]


DOCS = [
    proc(
        "attester",
        "Indhentning af børne- og straffeattester",
        "Robotten henter attester fra politiet.",
        domain="hr_og_loen",
        systems=["eDoc"],
        technologies=["Power Automate"],
        municipalities=["253", "376"],
    ),
    proc(
        "tolk",
        "Betaling af tolkeregninger",
        "Tolkeregninger betales automatisk.",
        domain="oekonomi",
        systems=["KMD Opus"],
        technologies=["Python"],
        municipalities=["376"],
    ),
    proc(
        "udrejse",
        "Udrejseregistrering",
        "Spøgelsesborgere findes i CPR.",
        systems=["CPR", "eDoc"],
        technologies=["Power Automate"],
        municipalities=["259"],
    ),
    proc("kladde", "Hemmelig kladde om attester", "Kun Greve ser den.", visibility="municipality:253"),
    Document(
        type="municipality",
        id="259",
        title="Køge",
        url="/municipalities/259",
        meta="Køge Koege Koge 259",
        facets={"municipality": ["259"]},
    ),
]


@pytest.fixture
def filled(backend: SearchBackend) -> SearchBackend:
    backend.rebuild(DOCS)
    return backend


def ids(backend: SearchBackend, text: str = "", viewer: Viewer = ADMIN, **filters: str) -> list[str]:
    return [h.id for h in backend.search(SearchQuery(text=text, filters=filters, viewer=viewer, limit=50)).hits]


def test_finds_by_inflection_compound_and_spelling(filled: SearchBackend) -> None:
    assert ids(filled, "straffeattest")[0] == "attester"
    assert ids(filled, "børneattest")[0] == "attester"
    assert ids(filled, "tolk")[0] == "tolk"
    assert ids(filled, "spogelsesborger")[0] == "udrejse"
    assert ids(filled, "Koege") == ["259"]


def test_hits_have_title_url_snippet_and_score(filled: SearchBackend) -> None:
    result = filled.search(SearchQuery(text="tolkeregninger", viewer=ADMIN))
    hit = result.hits[0]
    assert (hit.type, hit.id, hit.url) == ("process", "tolk", "/processes/tolk")
    assert hit.title == "Betaling af tolkeregninger"
    assert "<mark>Tolkeregninger</mark>" in hit.snippet
    assert hit.score > 0


def test_snippets_escape_html(backend: SearchBackend) -> None:
    backend.rebuild([proc("x", "Skadelig", "<script>alert(1)</script> attest")])
    snippet = backend.search(SearchQuery(text="attest", viewer=ADMIN)).hits[0].snippet
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet


def test_filters_and_facets(filled: SearchBackend) -> None:
    assert sorted(ids(filled, type="process", system="edoc")) == ["attester", "udrejse"]
    assert ids(filled, "attester", domain="hr_og_loen") == ["attester"]
    assert ids(filled, technology="python") == ["tolk"]
    assert sorted(ids(filled, municipality="376")) == ["attester", "tolk"]
    facets = filled.search(SearchQuery(viewer=ADMIN)).facets
    assert facets["type"] == {"process": 4, "municipality": 1}
    assert facets["system"]["eDoc"] == 2
    assert facets["technology"]["Power Automate"] == 2


def test_empty_query_browses_everything_visible(filled: SearchBackend) -> None:
    result = filled.search(SearchQuery(viewer=Viewer()))
    assert result.total == 4  # the draft is not among them
    assert {h.id for h in result.hits} == {"attester", "tolk", "udrejse", "259"}


def test_drafts_only_for_their_municipality(filled: SearchBackend) -> None:
    assert "kladde" not in ids(filled, "attester", viewer=Viewer())
    assert "kladde" not in ids(filled, "attester", viewer=Viewer(municipality="376"))
    assert "kladde" in ids(filled, "attester", viewer=Viewer(municipality="253"))
    assert "kladde" in ids(filled, "attester", viewer=ADMIN)


def test_upsert_replaces_and_delete_removes(filled: SearchBackend) -> None:
    filled.upsert([proc("tolk", "Betaling af tolkeregninger", "Nu også videotolkning.", domain="social")])
    assert ids(filled, "videotolkning") == ["tolk"]
    assert ids(filled, "tolk", domain="oekonomi") == []
    assert filled.count() == 5
    filled.delete([("process", "tolk"), ("process", "findes-ikke")])
    assert ids(filled, "tolkeregninger") == []
    assert filled.count() == 4


def test_paging(filled: SearchBackend) -> None:
    first = filled.search(SearchQuery(viewer=ADMIN, limit=2, offset=0))
    second = filled.search(SearchQuery(viewer=ADMIN, limit=2, offset=2))
    assert first.total == second.total == 5
    assert not {h.id for h in first.hits} & {h.id for h in second.hits}


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '""',
        "'",
        "*",
        "-",
        "- attest",
        "attest*",
        "NEAR",
        "NEAR(attest tolk)",
        "AND",
        "OR",
        "NOT attest",
        "attest AND",
        "(",
        ")",
        "((attest",
        "attest)",
        "title:attest",
        "^attest",
        "a" * 10_000,
        "😀",
        "😀 attest",
        "\x00",
        "børne-",
        "-børne",
        "æøå",
        "ÆØÅ",
        "1234",
        "%_\\",
        "attest; DROP TABLE docs",
        "{}[]",
        "\u200b",
    ],
)
def test_any_text_is_answered(filled: SearchBackend, text: str) -> None:
    result = filled.search(SearchQuery(text=text, viewer=ADMIN))
    assert result.total >= 0 and isinstance(result.hits, list)


def test_rebuild_replaces_the_whole_index(filled: SearchBackend) -> None:
    filled.rebuild([proc("ny", "Helt ny proces")])
    assert filled.count() == 1
    assert ids(filled, "tolk") == []
    assert ids(filled, "ny proces") == ["ny"]


def test_a_failed_rebuild_leaves_the_old_index_working(filled: SearchBackend) -> None:
    def broken() -> object:
        yield proc("halv", "Halvt færdig")
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        filled.rebuild(broken())  # type: ignore[arg-type]
    assert ids(filled, "tolkeregninger") == ["tolk"]
    assert ids(filled, "halvt") == []
    assert filled.count() == 5


def many_robots() -> list[Document]:
    """300 processes that mention robots in their text; one has it in its title; 10 also name a rare word;
    the last 20 belong to municipality 999."""
    docs = []
    for i in range(300):
        rare = " Sjældenord hører også til." if i % 30 == 7 else ""
        docs.append(
            Document(
                type="process",
                id=f"p{i:03d}",
                title="Robotten der flytter sager" if i == 150 else f"Flytning af sager nummer {i}",
                url=f"/processes/p{i:03d}",
                summary=f"Sagerne flyttes hver dag.{rare}",
                body="En softwarerobot flytter sagerne mellem systemerne. " * 3,
                facets={
                    "domain": [("oekonomi", "skole", "social")[i % 3]],
                    "municipality": ["999" if i >= 280 else "253"],
                },
            )
        )
    return docs


def test_a_context_adds_its_rarest_words_to_the_search(backend: SearchBackend) -> None:
    docs = [proc(f"robot-{i}", f"Robotproces {i}", "Robotten kører hver nat.") for i in range(30)]
    docs += [
        proc("dublet", "Betaling af tolkeregninger", "Robotten betaler tolkeregninger fra Tolkeservice."),
        proc("service", "Regnskab", "Tolkeservice sender en opgørelse."),
    ]
    backend.rebuild(docs)
    context = "Robotten betaler via Tolkeservice hver nat."
    found = [
        h.id
        for h in backend.search(
            SearchQuery(text="Betaling af tolkeregninger", context=context, viewer=ADMIN, limit=50)
        ).hits
    ]
    assert found[0] == "dublet"
    assert "service" in found  # the context's rare word is searched
    if backend.name != "meilisearch":  # (which searches every word: it has no document counts)
        assert not any(i.startswith("robot-") for i in found)  # its common words are not
