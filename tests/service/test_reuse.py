"""The search for likely duplicates: the title's words, and the summary's rarest beside them."""

from __future__ import annotations

from pathlib import Path

from search.backends.fts5 import Fts5Backend
from search.documents import Document
from service.reuse import CANDIDATES, similar_query


def test_the_title_is_searched_with_the_summary_as_context() -> None:
    query = similar_query(" Betaling af tolkeregninger ", " Robotten betaler via Tolkeservice. ")
    assert (query.text, query.context) == ("Betaling af tolkeregninger", "Robotten betaler via Tolkeservice.")
    assert (query.filters, query.limit) == ({"type": "process"}, CANDIDATES)


def test_without_a_title_every_word_of_the_summary_is_searched() -> None:
    query = similar_query("  ", "Robotten betaler via Tolkeservice.")
    assert (query.text, query.context) == ("Robotten betaler via Tolkeservice.", "")


def test_the_summarys_common_words_are_not_searched(tmp_path: Path) -> None:
    def process(id_: str, title: str, summary: str) -> Document:
        return Document(type="process", id=id_, title=title, url="", summary=summary)

    docs = [process(f"p{i}", f"Proces {i}", "Robotten henter sager hver nat.") for i in range(40)]
    docs += [
        process("dublet", "Betaling af tolkeregninger", "Robotten henter sager fra Tolkeservice."),
        process("tolk", "Regnskab", "Tolkeservice og KMD."),
    ]
    backend = Fts5Backend(tmp_path / "search")
    backend.rebuild(docs)
    query = similar_query("Betaling af tolkeregninger", "Robotten henter sager fra Tolkeservice hver nat i KMD.")
    # the summary's two rarest words (KMD, Tolkeservice) are searched, not those in (nearly) every process
    assert [h.id for h in backend.search(query).hits] == ["dublet", "tolk"]
