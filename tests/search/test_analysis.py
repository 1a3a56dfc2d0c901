from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.analysis import (
    CONTEXT_WORDS,
    analyze,
    compound_splits,
    distinctive,
    fold,
    parse_query,
    stem,
    word_forms,
    words,
)
from search.backends.fts5 import fts5_quote, match_expressions, match_group, whole_word_expression
from search.backends.postgres import term_query, whole_word_query


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


@pytest.mark.parametrize(
    "word",
    [
        "registrering",
        "handling",
        "automatisering",
        "indhentning",
        "betaling",
        # known words that the general word list's short words and endings split (bor + geren, sys + temer,
        # rob + otten, per + soner, reg + ninger, afgør + elsen, erklær + inger)
        "borgeren",
        "systemer",
        "robotten",
        "personer",
        "regninger",
        "afgørelsen",
        "erklæringer",
        "oprettes",
        "borgerens",  # nor borg + erens: a known word whose longest-head reading is implausible is not split
        "kontrollen",
        "årsag",
        "nødvendigt",
    ],
)
def test_ordinary_words_are_not_split_into_nonsense(word: str) -> None:
    assert compound_splits(word) == ()
    assert word_forms(word) == tuple(dict.fromkeys((fold(word), stem(word))))


@pytest.mark.parametrize(
    ("compound", "head", "modifier"),
    [
        # known words after a short modifier that does begin compounds, and heads with a short stem
        ("jobcenter", "center", "job"),
        ("dagtilbud", "tilbud", "dag"),
        ("aktindsigt", "indsigt", "akt"),
        ("arbejdsgiver", "giver", "arbejds"),
        ("postkasse", "kasse", "post"),
        ("sagsbehandlerens", "behandlerens", "sags"),
        ("målgruppe", "gruppe", "mål"),
        ("årsløn", "løn", "års"),
        ("lovforslag", "forslag", "lov"),
        ("lonmodtager", "modtager", "lon"),  # written without ø, as lønmodtager
    ],
)
def test_known_words_still_split_where_a_real_word_begins(compound: str, head: str, modifier: str) -> None:
    assert (modifier, head) in compound_splits(compound)


def test_a_synonym_with_a_stop_word_is_matched_without_it() -> None:
    # the index holds no `og`: the alternative `løn- og økonomisystem` is searched as løn økonomisystem …
    (term,) = parse_query("erp").terms
    assert ["lon", "okonomisystem"] in term.phrases and not any("og" in p for p in term.phrases)
    # … and typed, it is one term of its group (its `og` is dropped from the query as from the synonym)
    (term,) = parse_query("løn- og økonomisystem").terms
    assert "erp" in term.exact


def test_a_misspelt_compound_after_a_short_modifier_is_repaired() -> None:
    (term,) = parse_query("jobcenetr").terms
    assert ["job", "centr"] in term.phrases


def test_stop_words_are_not_indexed() -> None:
    # a query never searches for one (see test_stopwords_are_dropped_from_queries), so the index keeps none
    indexed = set(analyze("Refusion af sygedagpenge til borgeren og arbejdsgiveren").split())
    assert not indexed & {"af", "til", "og"}
    assert {"refusion", "sygedagpenge", "borgeren", "arbejdsgiveren"} <= indexed
    assert analyze("og i af til") == ""


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


def test_english_words_and_phrases_find_the_danish_terms() -> None:
    (term,) = parse_query("invoices").terms  # English inflection: invoices → invoice
    assert "faktura" in term.exact and "regning" in term.exact
    assert not term.typos  # never corrected into a Danish word one or two letters away
    (term,) = parse_query("sick pay").terms  # a phrase, as one term
    assert "sygedagp" in term.exact or "sygedagpeng" in term.exact
    terms = parse_query("interpreter booking").terms
    assert [t.text for t in terms] == ["interpreter", "booking"]
    assert "tolk" in terms[0].exact and "bestil" in terms[1].exact
    # the English function words are left out
    assert [t.text for t in parse_query("freedom of information request").terms] == ["freedom information request"]


def test_a_danish_word_that_is_not_english_keeps_its_typo_tolerance() -> None:
    (term,) = parse_query("bankafstemnig").terms
    assert term.typos


def test_weak_words_weigh_nothing_beside_content_words() -> None:
    terms = parse_query("besked til forældre når barnet har meget fravær").terms
    assert [t.text for t in terms] == ["besked", "forældre", "barnet", "fravær"]
    terms = parse_query("hvordan får vi straffeattester til nye medarbejdere").terms
    assert [t.text for t in terms] == ["straffeattester", "nye", "medarbejdere"]
    # a query of only weak words still searches for them
    assert [t.text for t in parse_query("hvordan").terms] == ["hvordan"]


def test_everyday_synonyms_apply_to_compound_parts() -> None:
    (term,) = parse_query("papirregninger").terms
    assert ["papir", "faktura"] in term.phrases
    (term,) = parse_query("parkeringsbøder").terms
    assert ["parkering", "afgift"] in term.phrases
    (term,) = parse_query("hjemmehjælp").terms
    assert "hjemmeplej" in term.exact  # the stem of hjemmepleje


def test_a_misspelt_compound_is_read_as_modifier_and_repaired_head() -> None:
    (term,) = parse_query("bankafstemmning").terms
    assert ["bank", "afstemning"] in term.phrases
    (term,) = parse_query("attestbestiling").terms
    assert ["attest", "bestilling"] in term.phrases


def test_a_half_typed_compound_matches_its_head_by_prefix() -> None:
    (term,) = parse_query("bankafst").terms
    assert term.prefix_phrases == [["bank", "afst"]]
    assert match_group(term) is not None and 'NEAR("bank" "afst" *' in (match_group(term) or "")
    built = term_query(term)
    assert built is not None and "'bank' & 'afst':*" in built[0]
    # a split whose head has four letters may be half-typed too: tolke + best, and tolke + best… (tolkebestilling)
    (term,) = parse_query("tolkebest").terms
    assert ["tolk", "best"] in term.phrases and ["tolk", "best"] in term.prefix_phrases
    # a shorter head is a whole word (`sag`), whose prefix begins too many words to search
    (term,) = parse_query("lønsag").terms
    assert ["lon", "sag"] in term.phrases and term.prefix_phrases == []


def test_the_whole_word_expression_leaves_out_parts_and_synonyms() -> None:
    analyzed = parse_query("fremmødetolkning")
    (term,) = analyzed.terms
    assert ["fremmod", "tolkning"] in term.phrases  # the parts still match …
    exact = whole_word_expression(analyzed) or ""
    assert "fremmodetolkning" in exact and "NEAR" not in exact  # … but only the whole word ranks first
    assert whole_word_query(analyzed.terms) is not None
    (term,) = parse_query("hjemmehjælp").terms
    assert "hjemmeplej" not in term.whole_words()[0]


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


def test_the_context_adds_its_rarest_known_words_not_in_the_query_already() -> None:
    query = parse_query("Betaling af tolkeregninger")
    context = parse_query("Tolkeregninger betales af robotten via Tolkeservice og ukendtord").terms
    assert [t.text for t in context] == ["tolkeregninger", "betales", "robotten", "via", "tolkeservice", "ukendtord"]
    chosen = distinctive(query.terms, context, [5, 900, 700, 800, 3, 0])
    # tolkeregninger is in the query already, ukendtord is unknown (matches nothing), betales and via are commoner
    assert [context[i].text for i in chosen] == ["robotten", "tolkeservice"]
    assert len(distinctive([], context, [1] * len(context))) == CONTEXT_WORDS


def test_a_repeated_context_word_is_added_once() -> None:
    context = parse_query("tolkeservice Tolkeservice").terms
    assert distinctive([], context, [2, 2]) == [0]


def test_an_identifier_whose_letters_fold_to_nothing_is_no_empty_prefix() -> None:
    """`ͺ_ﹰ` looks like an identifier, but every letter of it folds to nothing: searched as prose, never as a code
    term whose prefix (empty) would start every word of the index."""
    terms = parse_query("ͺ_ﹰ hent_sag").terms
    assert all(prefix for term in terms for prefix in term.prefixes)
    assert [t.exact for t in terms if t.text == "hent_sag"] == [["hentsag"]]
