"""The fast paths of indexing give exactly what the straightforward code gives.

`analyze` looks each word's forms up in a shared cache, finds suspended compounds by scanning for their hyphen,
and `plain_text` skips the Markdown patterns a text cannot match: each is compared here with the plain
version over generated catalogue text, hand-picked awkward text and arbitrary text, and from many threads.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.catalogue_gen import processes
from search import analysis
from search.analysis import _completed_suspensions, _completed_suspensions_plainly, analyze, analyze_plainly, words
from search.snippets import _MD, plain_text
from tests.search.conftest import racing_a_bounded_cache


@pytest.fixture(autouse=True, scope="module")
def _lexicon_loaded() -> None:
    """The lexicon and stemmer loaded before the generated examples are timed (the first analysis loads them, which
    took longer than Hypothesis's deadline when this file ran alone)."""
    analyze("straffeattester")


AWKWARD = [
    "børne- og straffeattester",
    "Børne-, ungdoms- og straffeattester samt løn- og personalesager",
    "it- og digitaliseringsafdelingen, social- og sundhedsforvaltningen",
    "CPR-numre og e-mail; baseline-måling -, - og - ",
    "a- -, -b- c--  d-\te-\nf-,straffeattester",
    "hent_straffeattest_fra_politiet og __init__ samt _privat_ ord_",
    "Ærø Å ÅÅ ß ﬁnans Ǆ İstanbul ΣΑΣ 12-34- 5 x²-y³- lægeerklæringer",
    "ordmedoverhundredebogstaver" * 6 + "- og attester",
    "",
    "-",
]


def _plain_text_reference(markdown: str) -> str:
    """`plain_text` as it was: every pattern in turn, then runs of space to one."""
    text = markdown
    for pattern, replacement, _needs in _MD:
        text = pattern.sub(replacement, text)
    return re.sub(r"\s+", " ", text).strip()


def _sample() -> list[str]:
    texts = list(AWKWARD)
    for doc in processes(300, seed=3):
        texts += [doc.title, doc.summary, doc.body, doc.meta]
    return texts


def test_analyze_equals_the_straightforward_analysis() -> None:
    analysis._forms.clear()
    for text in _sample():
        assert analyze(text) == analyze_plainly(text), text
        assert analyze(text) == analyze_plainly(text), text  # and again, from the cache


def test_suspended_compounds_are_found_as_the_regular_expression_finds_them() -> None:
    texts = _sample()
    assert any(list(_completed_suspensions(t.casefold())) for t in texts)  # the sample has some
    for text in texts:
        lowered = text.casefold()
        assert list(_completed_suspensions(lowered)) == list(_completed_suspensions_plainly(lowered)), text


PIECES = st.sampled_from([*"abæøå ,-_\t\nÅ1", "og ", "attester", "straffe", "- og "])


@given(st.lists(PIECES, max_size=60).map("".join))
@settings(max_examples=300)
def test_any_text_analyses_as_the_straightforward_analysis(text: str) -> None:
    assert analyze(text) == analyze_plainly(text)
    lowered = text.casefold()
    assert list(_completed_suspensions(lowered)) == list(_completed_suspensions_plainly(lowered))


@given(st.text(max_size=200))
def test_arbitrary_unicode_analyses_as_the_straightforward_analysis(text: str) -> None:
    assert analyze(text) == analyze_plainly(text)


def test_every_latin1_character_splits_and_folds_as_the_regular_expression_does() -> None:
    # the byte table against _WORD over the case-folded text, one character at a time and all of them together
    latin1 = "".join(map(chr, range(256)))
    for text in [*latin1, latin1, latin1.upper(), "Straße µm " + latin1, "ÆBLE_ØL-Å og Ærø"]:
        lowered = text.casefold()
        assert words(text)[: len(analysis._WORD.findall(lowered))] == analysis._WORD.findall(lowered), repr(text)
        assert analyze(text) == analyze_plainly(text), repr(text)


@given(st.text(st.characters(max_codepoint=255), max_size=200))
def test_any_latin1_text_analyses_as_the_straightforward_analysis(text: str) -> None:
    assert analyze(text) == analyze_plainly(text)


@pytest.mark.parametrize(
    "markdown",
    [
        "# Titel\n\nTekst med **fed** og _kursiv_ og `kode` og [et link](https://x.dk) og ![billede](a.png).",
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint(1)\n```\n- punkt\n1. nummer\n> citat",
        "ingen markdown her, kun\u00a0tekst\u2003med\x1c mærkelige\u2028mellemrum  ",
        "",
    ],
)
def test_plain_text_equals_running_every_pattern(markdown: str) -> None:
    assert plain_text(markdown) == _plain_text_reference(markdown)


@given(st.text(alphabet=st.sampled_from(list("ab *_`[]()!|#>-+1.\n\t\u00a0\u2028")), max_size=120))
def test_plain_text_of_any_markdown_equals_running_every_pattern(markdown: str) -> None:
    assert plain_text(markdown) == _plain_text_reference(markdown)


def test_the_word_cache_is_bounded_and_right_from_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {t: analyze_plainly(t) for t in _sample()}
    assert racing_a_bounded_cache(analysis._forms, 500, analyze, cases, monkeypatch) == []
    assert len(analysis._forms) <= 500


def test_analyze_code_equals_the_straightforward_analysis() -> None:
    from bench.fts5_after_write import code_files
    from search.code import analyze_code, analyze_code_plainly

    texts = [doc.body for doc in code_files(200)] + [
        "def hent_straffeattest_fra_politiet(eDocClient, EDocClient, v2Api): _ = __ + _privat",
        "class KøHåndtering: pass  # æøå ÆØÅ",
        "",
    ]
    for text in texts:
        assert analyze_code(text) == analyze_code_plainly(text), text


@given(st.text(max_size=200))
def test_any_code_analyses_as_the_straightforward_analysis(text: str) -> None:
    from search.code import analyze_code, analyze_code_plainly, analyze_code_words

    assert analyze_code(text) == analyze_code_plainly(text)
    analysed, words = analyze_code_words(text)
    assert analysed == analyze_code(text) and words == set(analysed.split())


@pytest.mark.parametrize(
    "source",
    [
        "def hent_attest(x):\n    pass\nclass KøKlient:\n    async def send(self): ...\n",
        "public class Robot {\n  private void HentSag(int id) {\n  }\n  internal static string Navn() => x;\n}\n",
        "Function Hent()\nEnd Function\nSub Kør()\nfunc main() {}\nfn main() {}\n",
        "",
    ],
)
def test_definitions_without_access_words_are_found_as_by_the_full_pattern(source: str) -> None:
    from search.code import _DEFINITION, definitions

    assert definitions(source) == [m.group(1) or m.group(2) for m in _DEFINITION.finditer(source)]


@given(
    st.lists(
        st.sampled_from(
            [
                "def ",
                "class ",
                "public ",
                " x",
                "y(",
                "{",
                "\n",
                "  ",
                "async ",
                "_z",
                "import ",
                "if ",
                "private",
                "\t",
            ]
        ),
        max_size=40,
    )
)
def test_definitions_of_any_source_are_found_as_by_the_full_pattern(pieces: list[str]) -> None:
    from search.code import _DEFINITION, analyze_code, analyze_definitions, definitions

    source = "".join(pieces)
    assert definitions(source) == [m.group(1) or m.group(2) for m in _DEFINITION.finditer(source)]
    assert analyze_definitions(source) == analyze_code(" ".join(definitions(source)))
