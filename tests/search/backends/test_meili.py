"""What can be checked of the Meilisearch backend without a server: settings, documents, filters, queries.
The same backend runs the shared contract and relevance tests when RPABANK_TEST_MEILI_URL is set."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from search.analysis import parse_query
from search.backends.meili import (
    SEARCHABLE,
    document_key,
    index_settings,
    meili_string,
    query_text,
    search_filter,
    to_meili,
)
from search.documents import FACETS, Document, SearchQuery, Viewer


def test_settings_declare_search_order_filters_and_typos() -> None:
    settings = index_settings()
    assert settings["searchableAttributes"] == SEARCHABLE == ["a_title", "a_summary", "a_meta", "a_body", "a_anchor"]
    for name in FACETS:
        assert f"fk_{name}" in settings["filterableAttributes"]
    assert "visibility" in settings["filterableAttributes"] and "key" in settings["filterableAttributes"]
    assert settings["typoTolerance"]["minWordSizeForTypos"] == {"oneTypo": 5, "twoTypos": 8}
    assert "robot" in settings["synonyms"]["rpa"]
    json.dumps(settings)  # sendable as it is


def test_documents_carry_analysed_text_and_facets() -> None:
    doc = Document(
        type="process",
        id="x/ø y",
        title="Betaling af tolkeregninger",
        url="/processes/x",
        summary="Børne- og straffeattester",
        body="# Overskrift\n**fed** tekst",
        facets={"system": ["eDoc", "eDoc"], "municipality": ["253"]},
        visibility="municipality:253",
    )
    out = to_meili(doc)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", out["key"]) and out["key"] == document_key("process", "x/ø y")
    assert "tolk" in out["a_title"].split() and "borneattest" in out["a_summary"].split()
    assert out["body"] == "Overskrift fed tekst"
    assert out["f_system"] == ["eDoc"] and out["fk_system"] == ["edoc"]
    assert out["f_type"] == ["process"] and out["visibility"] == "municipality:253"


def test_keys_differ_per_document() -> None:
    assert document_key("process", "a") != document_key("code", "a")
    assert document_key("process", "a") != document_key("process", "b")


@given(st.text(max_size=80))
def test_filter_strings_cannot_break_out(value: str) -> None:
    quoted = meili_string(value)
    assert quoted[0] == quoted[-1] == '"'
    inner = quoted[1:-1]
    # every quote inside is escaped, and no escape is left dangling at the end
    assert not re.search(r'(?<!\\)(\\\\)*"', inner)
    assert (len(inner) - len(inner.rstrip("\\"))) % 2 == 0


def test_filters_are_built_from_escaped_values() -> None:
    clauses = search_filter(
        SearchQuery(filters={"system": 'e"Doc', "domain": "it", "colour": "red"}, viewer=Viewer(municipality="253"))
    )
    assert clauses[0] == 'visibility = "network" OR visibility = "municipality:253"'
    assert 'fk_domain = "it"' in clauses
    assert 'fk_system = "e\\"doc"' in clauses
    assert not any("colour" in c for c in clauses)
    assert search_filter(SearchQuery(viewer=Viewer(is_admin=True))) == []


def test_queries_are_sent_as_stems() -> None:
    # the anchor first (see the module docstring of search.backends.meili), then each term's stem
    assert query_text(parse_query("straffeattesterne til frivillige")).startswith(
        "rpabankdokument straffeattest frivil"
    )
    assert query_text(parse_query("")) == "rpabankdokument"
