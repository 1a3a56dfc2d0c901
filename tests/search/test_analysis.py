from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.analysis import analyze, compound_splits, fold, parse_query, stem, word_forms, words
from search.backends.fts5 import fts5_quote, match_expressions


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Køge", "Koege"),
        ("Køge", "Koge"),
        ("lægeerklæring", "laegeerklaering"),
        ("Næstved", "Naestved"),
        ("økonomi", "okonomi"),
        ("spøgelsesborgere", "spogelsesborgere"),
        ("Holbæk", "Holbaek"),
        ("Århus", "Aarhus"),
    ],
)
def test_danish_letters_fold_together(a: str, b: str) -> None:
    assert fold(a) == fold(b)


@pytest.mark.parametrize(
    ("word", "same_as"),
    [
        ("attester", "attest"),
        ("attesterne", "attest"),
        ("attesten", "attest"),
        ("regninger", "regning"),
        ("robotter", "robot"),
        ("processer", "proces"),
        ("processen", "proces"),
        ("processerne", "proces"),
    ],
)
def test_inflections_share_a_stem(word: str, same_as: str) -> None:
    assert stem(word) == stem(same_as)


def test_english_is_not_stemmed_as_danish() -> None:
    assert stem("handling") == "handling"
    assert stem("automate") == "automate"
    assert compound_splits("automate") == ()


@pytest.mark.parametrize(
    ("compound", "head", "modifier"),
    [
        ("straffeattester", "attester", "straffe"),
        ("tolkeregninger", "regninger", "tolke"),
        ("helbredstillæg", "tillæg", "helbreds"),
        ("spøgelsesborgere", "borgere", "spøgelses"),
        ("udrejseregistrering", "registrering", "udrejse"),
        ("køhåndtering", "håndtering", "kø"),
    ],
)
def test_compounds_split_into_modifier_and_head(compound: str, head: str, modifier: str) -> None:
    assert (modifier, head) in compound_splits(compound)
    forms = word_forms(compound)
    assert stem(head) in forms and stem(modifier) in forms


@pytest.mark.parametrize("word", ["registrering", "handling", "automatisering", "indhentning", "betaling"])
def test_ordinary_words_are_not_split_into_nonsense(word: str) -> None:
    assert compound_splits(word) == ()


def test_suspended_compounds_are_completed() -> None:
    assert "børneattester" in words("Indhentning af børne- og straffeattester")
    assert stem("børneattest") in analyze("Indhentning af børne- og straffeattester").split()
    assert "lønsystem" in words("løn- og økonomisystem")


def test_synonyms_expand_queries() -> None:
    (term,) = parse_query("RPA").terms
    assert "robot" in term.exact and "softwarerobot" in term.exact
    (term,) = parse_query("kunstig intelligens").terms
    assert "sprogmodel" in term.exact
    (term,) = parse_query("kø").terms
    assert "queue" in term.exact


def test_stopwords_are_dropped_from_queries() -> None:
    assert [t.text for t in parse_query("refusion af sygedagpenge").terms] == ["refusion", "sygedagpenge"]
    assert parse_query("og i af").empty


@given(st.text(max_size=300))
def test_any_text_analyses_to_plain_tokens(text: str) -> None:
    for token in analyze(text).split():
        assert token.isalnum() and token == token.casefold()


@given(st.text(max_size=300))
def test_any_query_builds_a_safe_match_expression(text: str) -> None:
    every, some = match_expressions(parse_query(text))
    for expression in (every, some):
        if expression is not None:
            assert expression.count('"') % 2 == 0


@given(st.text(max_size=50))
def test_fts5_quote_is_one_string_token(token: str) -> None:
    quoted = fts5_quote(token)
    assert quoted.startswith('"') and quoted.endswith('"')
    inner = quoted[1:-1]
    assert inner.replace('""', "").count('"') == 0
