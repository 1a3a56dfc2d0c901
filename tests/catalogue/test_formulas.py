"""The benefit formulas and the aggregation, without a database or HTTP; every expectation computed by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalogue.formulas import (
    AdoptionFacts,
    RecordFacts,
    avoided_build_hours,
    dkk_saved,
    effective_minutes,
    fte,
    net_dkk,
    parse_period,
    period_range,
    realised_hours,
    summarise,
)
from core.errors import Invalid

# ---------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("2024", "year", dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        ("2024-Q1", "quarter", dt.date(2024, 1, 1), dt.date(2024, 3, 31)),
        ("2024-Q2", "quarter", dt.date(2024, 4, 1), dt.date(2024, 6, 30)),
        ("2023-Q4", "quarter", dt.date(2023, 10, 1), dt.date(2023, 12, 31)),
        ("2024-02", "month", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2023-02", "month", dt.date(2023, 2, 1), dt.date(2023, 2, 28)),
        ("2024-12", "month", dt.date(2024, 12, 1), dt.date(2024, 12, 31)),
    ],
)
def test_periods(text: str, kind: str, start: dt.date, end: dt.date) -> None:
    p = parse_period(text)
    assert (p.kind, p.start, p.end, p.text) == (kind, start, end, text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "24",
        "2024-Q0",
        "2024-Q5",
        "2024-q1",
        "2024-13",
        "2024-1",
        "2024-001",
        "2024 ",
        " 2024",
        "2024-H1",
        "1989",
        "2101",
        "٢٠٢٤",
        "2024-Q1-01",
    ],
)
def test_bad_periods_name_the_field(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_period(text)
    assert caught.value.field == "period"


@given(st.integers(1990, 2100), st.integers(1, 12))
def test_a_month_lies_in_its_quarter_and_year(year: int, month: int) -> None:
    m = parse_period(f"{year}-{month:02d}")
    q = parse_period(f"{year}-Q{(month - 1) // 3 + 1}")
    y = parse_period(str(year))
    assert m.within(q, q) and q.within(y, y) and m.within(y, y)
    assert not y.within(q, q)
    assert set(m.month_numbers) <= set(q.month_numbers) <= set(y.month_numbers)


def test_period_range() -> None:
    first, last = period_range("2023-Q2", "2024")
    assert first is not None and last is not None
    assert parse_period("2023-05").within(first, last) and not parse_period("2023").within(first, last)
    with pytest.raises(Invalid) as caught:
        period_range("2024", "2023-12")
    assert caught.value.field == "to"
    with pytest.raises(Invalid) as caught:
        period_range("2024-Q9", None)
    assert caught.value.field == "from"


# ---------------------------------------------------------------- formulas


def test_formulas_are_exact_decimals() -> None:
    hours = realised_hours(7, D("3.2"))  # 7 × 3.2 / 60
    assert hours == D("22.4") / 60
    assert dkk_saved(D(50), D(450)) == D(22_500)
    assert fte(D(814), D(1628)) == D("0.5")
    assert net_dkk(D(22_500), D(2500)) == D(20_000)
    assert net_dkk(D(100), None) == D(100)
    # no rounding on the way: a third of an hour keeps its 28 significant digits
    assert realised_hours(1, D(20)) == D(1) / D(3)


def test_minutes_default_from_the_adoption_then_the_process() -> None:
    assert effective_minutes(D(3), D(4), D(5)) == (D(3), "record")
    assert effective_minutes(None, D(4), D(5)) == (D(4), "adoption")
    assert effective_minutes(None, None, D(5)) == (D(5), "process")
    assert effective_minutes(None, None, None) == (None, None)
    assert effective_minutes(D(0), D(4), D(5)) == (D(0), "record")  # zero is a measurement, not a gap


def test_avoided_build_hours() -> None:
    assert avoided_build_hours("253", "376", True, D(120)) == D(120)
    assert avoided_build_hours("253", "253", True, D(120)) == 0  # the owner built it
    assert avoided_build_hours("253", "376", False, D(120)) == 0  # built its own
    assert avoided_build_hours("253", "376", True, None) == 0


# ---------------------------------------------------------------- aggregation


def adoption(
    process: str = "p",
    municipality: str = "253",
    *,
    status: str = "operation",
    expected: str | None = "120",
    cost: str = "450",
    avoided: str = "0",
    domain: str = "social",
) -> AdoptionFacts:
    return AdoptionFacts(
        process=process,
        process_title=process.upper(),
        domain=domain,
        municipality=municipality,
        municipality_name=f"Kommune {municipality}",
        status=status,
        expected_hours_per_year=None if expected is None else D(expected),
        hourly_cost_dkk=D(cost),
        avoided_build_hours=D(avoided),
    )


def record(
    a: AdoptionFacts,
    period: str,
    cases: int,
    minutes: str | None = "6",
    running: str | None = None,
    budget: bool = False,
) -> RecordFacts:
    return RecordFacts(
        adoption=a,
        period=parse_period(period),
        cases_handled=cases,
        minutes_saved_per_case=None if minutes is None else D(minutes),
        running_cost_dkk=None if running is None else D(running),
        budget_realised=budget,
    )


def test_mixed_granularity_by_year() -> None:
    greve = adoption(cost="500")
    koege = adoption(municipality="259", avoided="80")
    records = [
        record(greve, "2023", 1000, running="1000", budget=True),  # 100 h, 50,000 kr.
        record(greve, "2024-Q1", 300),  # 30 h, 15,000 kr.
        record(greve, "2024-02", 100),  # 10 h, overlaps the quarter: counted as reported
        record(koege, "2024-05", 60, "5"),  # 5 h, 2,250 kr.
    ]
    rows, totals = summarise([greve, koege], records, "year", D(1628))
    assert [key for key, _, _ in rows] == [2023, 2024]
    y2023, y2024 = (f for _, _, f in rows)
    assert y2023.realised_hours == 100 and y2023.dkk_saved == 50_000 and y2023.net_dkk == 49_000
    assert y2023.expected_hours == 120 and y2023.budget_realised_dkk == 50_000
    assert y2023.adopters == 1 and y2023.avoided_build_hours == 0
    assert y2024.realised_hours == 45 and y2024.dkk_saved == 15_000 + 5000 + 2250
    # Greve covers Jan–Mar (the February record adds no months), Køge May: 120 × 3/12 + 120 × 1/12
    assert y2024.expected_hours == 40
    assert y2024.adopters == 2 and y2024.avoided_build_hours == 80
    assert totals.realised_hours == 145 and totals.expected_hours == 160
    assert totals.fte == D(145) / D(1628)
    assert totals.adopters == 2 and totals.avoided_build_hours == 80 and totals.records == 4
    assert totals.realisation_pct == D(145) / D(160) * 100


def test_adopters_without_records_count_outside_the_year_view() -> None:
    running = adoption("p", "376", avoided="120", expected=None)
    interested = adoption("p", "259", status="interested", avoided="120")
    stopped_but_reported = adoption("q", "350", status="stopped", avoided="40")
    records = [record(stopped_but_reported, "2022", 10, "3")]
    rows, totals = summarise([running, interested, stopped_but_reported], records, "process", D(1628))
    by_key = {key: f for key, _, f in rows}
    assert by_key["p"].adopters == 1 and by_key["p"].avoided_build_hours == 120 and by_key["p"].records == 0
    assert by_key["q"].adopters == 1 and by_key["q"].realised_hours == D("0.5")
    assert totals.adopters == 2 and totals.avoided_build_hours == 160
    rows, totals = summarise([running, interested, stopped_but_reported], records, "year", D(1628))
    assert [(key, f.adopters, f.avoided_build_hours) for key, _, f in rows] == [(2022, 1, 40)]
    assert totals.adopters == 2  # the totals do not depend on the grouping


def test_no_expected_figures_without_inputs_and_no_hours_without_minutes() -> None:
    a = adoption(expected=None)
    rows, totals = summarise([a], [record(a, "2024", 100, minutes=None)], "municipality", D(1628))
    assert totals.expected_hours == 0 and totals.realised_hours == 0 and totals.records == 1
    assert totals.realisation_pct is None


def test_grouping_by_domain_and_municipality_labels() -> None:
    a = adoption("p", "253", domain="social")
    b = adoption("q", "253", domain="oekonomi")
    records = [record(a, "2024", 60), record(b, "2024", 120)]
    rows, _ = summarise([a, b], records, "domain", D(1628))
    assert [(key, f.realised_hours) for key, _, f in rows] == [("social", 6), ("oekonomi", 12)]  # Social < Økonomi
    rows, _ = summarise([a, b], records, "municipality", D(1628))
    [(key, label, f)] = rows
    assert key == "253" and label is not None and label.municipality_name == "Kommune 253"
    assert f.realised_hours == 18 and f.adopters == 2


# ---------------------------------------------------------------- likely duplicates
