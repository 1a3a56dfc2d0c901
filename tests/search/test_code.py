"""The identifier analysis of code files: the fast path (runs of word characters split by a byte table, each
distinct run looked up once in a shared, bounded cache) gives exactly the terms of the straightforward analysis
(every identifier found by the pattern, analysed in turn), on varied source text and from many threads."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search import code
from search.code import (
    IDENTIFIER,
    analyze_code,
    analyze_code_words,
    analyze_definitions,
    code_forms,
    code_forms_plainly,
    definitions,
    parts,
    word_runs,
)
from tests.search.conftest import racing_a_bounded_cache


def reference(text: str) -> str:
    """The analysis as it was: each identifier (a letter or `_`, then word characters) analysed in turn."""
    out: list[str] = []
    for match in re.finditer(r"[^\W\d]\w*", text[: code.MAX_INDEXED]):
        out.extend(code_forms(match.group()))
    return " ".join(out)


PYTHON = '''"""Hent straffeattester fra politiet (æøå i en docstring)."""
import os, re
from typing import Any

MAX_RETRY_COUNT = 3
__all__ = ["hent_straffeattest_fra_politiet", "EDocClient"]


class EDocClient:
    def __init__(self, base_url: str, timeout_s: float = 2.5) -> None:
        self._session = None  # Sessionen åbnes først ved første kald
        self.v2Api = f"{base_url}/api/v2"

    async def hent_sag(self, sag_id: int) -> dict[str, Any]:
        for forsøg in range(MAX_RETRY_COUNT):  # prøv igen ved fejl 503
            svar = await self._get(f"/sager/{sag_id}?år=2024&x86_64=1")
        return svar.json()


def hent_straffeattest_fra_politiet(cpr_nummer: str, klient: EDocClient | None = None) -> bool:
    return bool(re.fullmatch(r"\\d{6}-\\d{4}", cpr_nummer)) and klient is not None and 0x1F == 31 and 1e3 > 2.
'''

VB = """' Kør robotten: hent fakturaer fra Opus og journalisér i eDoc
Public Class FakturaRobot
    Private Sub HentFakturaer(ByVal kreditorNr As Integer)
        Dim løbeNr As Integer = 0
        For Each faktura As DataRow In dtFakturaer.Rows
            løbeNr += 1 : Console.WriteLine("Faktura " & faktura("FakturaNr").ToString)
        Next
    End Sub
    Friend Function BeregnBeløb(ByVal beløb As Decimal) As Decimal
        Return beløb * 1.25D
    End Function
    Sub Kør()
        HentFakturaer(4711)
    End Sub
End Class
"""

XAML = """<Activity mc:Ignorable="sap sap2010" x:Class="Main" xmlns="http://schemas.microsoft.com/netfx/2009/xaml/activities"
  xmlns:ui="http://schemas.uipath.com/workflow/activities" sap2010:WorkflowViewState.IdRef="Activity_1">
  <Sequence DisplayName="Hent sag fra ESDH" sap2010:WorkflowViewState.IdRef="Sequence_12">
    <ui:GetQueueItem QueueType="Straffeattester" TransactionItem="[in_TransactionItem]" TimeoutMS="30000" />
    <Assign><Assign.To><OutArgument x:TypeArguments="x:String">[strSagsNr]</OutArgument></Assign.To></Assign>
    <ui:LogMessage Level="Info" Message="[&quot;Sag hentet: &quot; + strSagsNr]" />
  </Sequence>
</Activity>
"""

JSON = """{"robot": "tolkeregninger_v2", "kommuner": ["0253", "0101"], "cpr": "0101701234",
 "beløb": 1234.50, "timestamp": 17325489600001, "ids": [1, 22, 333, 4444, 55555, 666666],
 "isActive": true, "næsteKørsel": "2024-12-01T06:00:00Z", "hash": "a3f9c0de9b12e4_77ff", "__meta__": null}
"""

AWKWARD = [
    PYTHON,
    VB,
    XAML,
    JSON,
    PYTHON.replace("\n", "\r\n"),
    "hent_straffeattest_fra_politiet eDocClient EDocClient v2Api HTTPServerError getHTTPResponseCode",
    "KøHåndtering ÆbleGrødÅ æøå_ÆØÅ straffeattesterne børne- og straffeattester lægeerklæringer",
    "2ndCase 3D 123abc 12_a 1__ __ _ ___x 007 0x1F 1e10 1_000_000 x86_64 utf8 sha256sum",
    "x² y³ ½ ª µ º ß ÿ ǅ İstanbul ΣΑΣ Ωmega ﬁnans naïve café",  # Latin-1 and beyond
    "“citat” – tankestreg … 5 € ≤ 6 — Ελληνικά 日本語の変数 emoji🙂_navn\u00a0nbsp\u0085nel\u2028ls",
    "tab\tsep\x0bvt\x0cff\x1cfs\x1dgs\x1ers\x1fus end",
    "ͺ ﹰ a\u037ab ﾞ",  # word characters whose folded form is empty
    "a" * 150 + "_" + "B" * 120 + " " + "9" * 40 + " " + "_" * 130 + "z",
    "",
    " ",
    "1234567890",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_analyze_code_gives_the_terms_of_the_straightforward_analysis(text: str) -> None:
    code._forms.clear()
    assert analyze_code(text) == reference(text)
    assert analyze_code(text) == reference(text)  # and again, from the cache


def test_identifiers_give_the_forms_worked_out_by_hand() -> None:
    # the whole identifier, its tails of 3+ letters from a part boundary, then each part (and its stem) once
    assert analyze_code("v2Api").split() == ["v2api", "2api", "api", "v", "2"]
    assert analyze_code("MAX_RETRY_COUNT").split() == ["maxretrycount", "retrycount", "count", "max", "retry"]
    assert analyze_code("x86_64").split() == ["x8664", "8664", "x", "86", "64"]
    # a number is no identifier; a run that starts with digits holds the identifier after them
    assert analyze_code("2024 1e10 123abc").split() == ["e10", "e", "10", "abc"]
    assert analyze_code("(7, 'x')") == "x"
    assert analyze_code("__ _ 42") == ""


def test_stop_words_are_not_indexed_in_code() -> None:
    # a query never searches for one: a comment's `og` and `for`, Python's `and`, or an identifier's part `fra`
    # (the identifier and its tails keep it: `hent_fra` still finds `hent_fra_politiet`)
    assert (
        analyze_code("# hent og send for borgeren\nif a and not b: pass") == "hent send borgeren borg if a b pass pas"
    )
    assert analyze_code("hent_fra_politiet") == "hentfrapolitiet frapolitiet politiet hent politi"


def test_word_runs_are_the_runs_of_word_characters() -> None:
    for text in AWKWARD:
        assert word_runs(text) == re.findall(r"\w+", text)


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_any_text_analyses_as_the_straightforward_analysis(text: str) -> None:
    assert word_runs(text) == re.findall(r"\w+", text)
    assert analyze_code(text) == reference(text)


@given(st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=300))
@settings(max_examples=300)
def test_any_latin1_text_analyses_as_the_straightforward_analysis(text: str) -> None:
    assert word_runs(text) == re.findall(r"\w+", text)
    assert analyze_code(text) == reference(text)


IDENTIFIERS = [
    "hent_straffeattest_fra_politiet",
    "HTTPServerError",
    "data_eksport",  # a pair that folding reduces across parts (`dataeksport` → `dataksport`)
    "Aarhus_Kommune",
    "koe_element",
    "KøHåndtering",
    "Straße_naïve_café",
    "x86_64",
    "v2Api",
    "a_b_c_d",
    "__dunder__",
    "ǅemal_ǅ",
]


def parts_plainly(identifier: str) -> list[str]:
    """An identifier's parts as the camelCase pattern finds them in each chunk between underscores, case-folded."""
    return [m.group().casefold() for chunk in identifier.split("_") for m in code._CAMEL.finditer(chunk)]


@given(st.from_regex(IDENTIFIER, fullmatch=True) | st.from_regex(r"[a-z0-9_]{1,30}", fullmatch=True))
@settings(max_examples=500)
def test_an_identifiers_parts_are_those_of_the_camel_case_pattern(identifier: str) -> None:
    assert parts(identifier) == parts_plainly(identifier)


@pytest.mark.parametrize("identifier", [*IDENTIFIERS, "sag_2024_id", "x_007", "²_³", "ab_Cd_EF_gh1"])
def test_listed_identifiers_parts_are_those_of_the_camel_case_pattern(identifier: str) -> None:
    assert parts(identifier) == parts_plainly(identifier)


def _forms_both_ways(identifier: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    code_forms.cache_clear()
    return code_forms(identifier), code_forms_plainly(identifier)


@pytest.mark.parametrize("identifier", IDENTIFIERS)
def test_an_identifier_has_the_forms_of_the_straightforward_analysis(identifier: str) -> None:
    fast, plain = _forms_both_ways(identifier)
    assert fast == plain and fast


@given(st.from_regex(IDENTIFIER, fullmatch=True))
@settings(max_examples=500)
def test_any_identifier_has_the_forms_of_the_straightforward_analysis(identifier: str) -> None:
    fast, plain = _forms_both_ways(identifier)
    assert fast == plain


@given(st.lists(st.sampled_from(["hent", "ae", "Sag", "ID", "aa", "oe", "x", "2", "ø", "Ny"]), min_size=1, max_size=6))
def test_joined_parts_have_the_forms_of_the_straightforward_analysis(pieces: list[str]) -> None:
    for identifier in ("_".join(pieces), "".join(pieces)):
        fast, plain = _forms_both_ways(identifier)
        assert fast == plain


def test_numbers_leave_the_cache_to_identifiers() -> None:
    code._forms.clear()
    analyze_code(" ".join(str(10**12 + i) for i in range(1000)) + " 7 42 id_7")
    assert set(code._forms) == {"7", "42", "id_7"}


def test_definitions_are_found_as_by_the_pattern_at_each_line_start() -> None:
    for text in AWKWARD:
        assert definitions(text) == [m.group(1) or m.group(2) for m in code._DEFINITION.finditer(text)], text
    assert definitions(PYTHON) == ["EDocClient", "__init__", "hent_sag", "hent_straffeattest_fra_politiet"]
    assert definitions(VB) == ["Kør"]  # VB's capitalised access words are not C#'s
    for text in [*AWKWARD, PYTHON, VB]:
        assert analyze_definitions(text) == analyze_code(" ".join(definitions(text))), text


def test_the_code_cache_is_bounded_and_right_from_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [*AWKWARD, *(PYTHON.replace("sag", f"sag{i}_") for i in range(40))]
    cases = {t: reference(t) for t in texts}
    assert racing_a_bounded_cache(code._forms, 300, analyze_code, cases, monkeypatch) == []
    assert len(code._forms) <= 300


def test_the_words_of_code_are_the_distinct_words_of_its_analysis() -> None:
    for text in [*AWKWARD, PYTHON, VB, ""]:
        analysed = analyze_code(text)
        assert analyze_code_words(text) == (analysed, set(analysed.split())), text
    assert analyze_code_words("hent_sag(sag_id); hent_sag()")[1] == {"hentsag", "sag", "hent", "sagid", "id"}


def test_the_cache_of_identifiers_words_is_bounded_and_right_from_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [*AWKWARD, *(PYTHON.replace("sag", f"sag{i}_") for i in range(40))]
    cases = {t: (reference(t), set(reference(t).split())) for t in texts}
    assert racing_a_bounded_cache(code._words, 300, analyze_code_words, cases, monkeypatch) == []
    assert len(code._words) <= 300
