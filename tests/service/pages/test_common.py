"""service.pages.common: Danish time and periods, the filters every page shows them with."""

from __future__ import annotations

import datetime as dt

import pytest

from service.pages import common
from service.pages.common import environment, fmt_date, fmt_period


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (dt.datetime(2024, 1, 15, 12, 0, tzinfo=dt.UTC), "15.01.2024 13:00"),  # winter: UTC+1
        (dt.datetime(2024, 7, 1, 22, 30, tzinfo=dt.UTC), "02.07.2024 00:30"),  # summer: UTC+2, the next day
        (dt.datetime(2024, 7, 1, 10, 0), "01.07.2024 12:00"),  # naive: UTC, as the database keeps it
        (dt.datetime(2024, 3, 31, 0, 59, tzinfo=dt.UTC), "31.03.2024 01:59"),  # just before summer time
        (dt.datetime(2024, 3, 31, 1, 0, tzinfo=dt.UTC), "31.03.2024 03:00"),  # summer time begins
    ],
)
def test_moments_are_shown_in_danish_time(moment: dt.datetime, shown: str) -> None:
    assert fmt_date(moment) == shown


def test_danish_time_without_the_time_zone_data(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise common.ZoneInfoNotFoundError(name)

    monkeypatch.setattr(common, "ZoneInfo", missing)
    assert fmt_date(dt.datetime(2024, 10, 27, 0, 59, tzinfo=dt.UTC)) == "27.10.2024 02:59"
    assert fmt_date(dt.datetime(2024, 10, 27, 1, 0, tzinfo=dt.UTC)) == "27.10.2024 02:00"
    assert fmt_date(dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.UTC)) == "01.01.2024 01:00"


def test_dates_stay_dates() -> None:
    assert (fmt_date(dt.date(2024, 5, 31)), fmt_date(None), fmt_date("2024-05-31")) == ("31.05.2024", "–", "31.05.2024")


@pytest.mark.parametrize(
    ("period", "shown"),
    [
        ("2024", "2024"),
        ("2024-Q1", "1. kvt. 2024"),
        ("2024-Q4", "4. kvt. 2024"),
        ("2024-03", "marts 2024"),
        ("2023-12", "december 2023"),
        (2024, "2024"),
        (None, "–"),
        ("noget", "noget"),
    ],
)
def test_periods_in_danish(period: str | int | None, shown: str) -> None:
    assert fmt_period(period) == shown


def test_the_filters_are_in_the_template_environment() -> None:
    template = environment().from_string("{{ p|period }} · {{ t|date }}")
    assert template.render(p="2024-05", t=dt.datetime(2024, 5, 1, 8, 0)) == "maj 2024 · 01.05.2024 10:00"
