"""service.pages.forms: Danish numbers, every field's problem at once in Danish, values kept."""

from __future__ import annotations

import pytest

from core.errors import Invalid
from service.pages.common import FormErrors
from service.pages.forms import Field, danish_number, domain_errors, parse_form, posted_values, show_number, term_values

FIELDS = (
    Field("title", "Titel", required=True, max_length=10),
    Field("cases_per_year", "Sager pr. år", "int", minimum=0),
    Field("minutes_per_case", "Minutter pr. sag", "decimal", minimum=0),
    Field("automation_rate", "Automatiseringsgrad", "percent", minimum=0, maximum=100),
    Field("phase", "Fase", "choice", choices={"idea": "Idé"}),
    Field("live_on", "I drift siden", "date"),
    Field("systems", "IT-systemer", "terms"),
    Field("personal_data", "Personoplysninger", "bool"),
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.200", 1200),
        ("12.345.678", 12345678),
        ("5,5", 5.5),
        ("1.234,5", 1234.5),
        ("75 %", 75),
        ("75%", 75),
        ("4.5", 4.5),
        (" 1 200 ", 1200),
        ("-3", -3),
        ("fem", None),
        ("1,2,3", None),
        ("nan", None),
        ("", None),
    ],
)
def test_danish_numbers(text: str, value: float | None) -> None:
    assert danish_number(text) == value


def test_numbers_are_shown_the_danish_way() -> None:
    assert (show_number(1200), show_number(5.5), show_number(1234.5), show_number(None)) == (
        "1.200",
        "5,5",
        "1.234,5",
        "",
    )


def test_every_problem_at_once_in_danish() -> None:
    form = {
        "title": "",
        "cases_per_year": "5,5",
        "minutes_per_case": "-1",
        "automation_rate": "120 %",
        "phase": "nope",
        "live_on": "31.05.2024",
    }
    with pytest.raises(FormErrors) as caught:
        parse_form(form, FIELDS)
    assert caught.value.errors == {
        "title": "Udfyld titel.",
        "cases_per_year": "Sager pr. år skal være et helt tal, fx 1.200.",
        "minutes_per_case": "Minutter pr. sag kan ikke være negativ.",
        "automation_rate": "Automatiseringsgrad må højst være 100 %.",
        "phase": "Vælg fase på listen.",
        "live_on": "I drift siden skal være en dato, fx 2024-05-31.",
    }


def test_valid_values_for_the_api() -> None:
    form = {
        "title": " Attester ",
        "cases_per_year": "1.200",
        "minutes_per_case": "5,5",
        "automation_rate": "75 %",
        "phase": "idea",
        "live_on": "2024-05-31",
        "systems_1": "eDoc",
        "systems_0": "KMD Opus",
        "systems_2": "EDOC",
        "personal_data": "on",
    }
    assert parse_form(form, FIELDS) == {
        "title": "Attester",
        "cases_per_year": 1200,
        "minutes_per_case": 5.5,
        "automation_rate": 75.0,
        "phase": "idea",
        "live_on": "2024-05-31",
        "systems": ["KMD Opus", "eDoc"],
        "personal_data": True,
    }


def test_too_long_text_says_how_long() -> None:
    with pytest.raises(FormErrors) as caught:
        parse_form({"title": "x" * 12}, FIELDS[:1])
    assert caught.value.errors == {"title": "Titel må højst have 10 tegn (der er 12)."}


def test_terms_from_boxes_and_commas() -> None:
    assert term_values({"tags_0": " a  b ", "tags": "c, d,,a b"}, "tags") == ["a b", "c", "d"]


def test_posted_values_are_kept_as_typed() -> None:
    assert posted_values({"cases_per_year": "mange", "systems_0": "eDoc"}, FIELDS)["cases_per_year"] == "mange"


def test_domain_refusals_are_danish() -> None:
    exc = Invalid("live_on must not be before started_on.", field="live_on")
    assert domain_errors(exc, FIELDS, {"live_on": "Før start."}).errors == {"live_on": "Før start."}
    assert domain_errors(exc, FIELDS).errors == {"live_on": "I drift siden: værdien blev afvist. Ret den og prøv igen."}
    assert domain_errors(Invalid("boom"), FIELDS).errors == {"": "Ændringen blev afvist. Ret felterne og prøv igen."}


def test_line_breaks_from_a_browser_are_kept_as_lf() -> None:
    text = Field("description", "Beskrivelse")
    assert parse_form({"description": "a\r\nb"}, (text,)) == {"description": "a\nb"}
    assert posted_values({"description": "a\r\nb"}, (text,)) == {"description": "a\nb"}
