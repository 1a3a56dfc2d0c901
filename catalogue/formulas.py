"""Benefit realisation (gevinstrealisering): what each adoption actually saved, period by period.

This module holds the periods and every formula as pure functions, testable without a database; the
schemas are in `catalogue.schemas` and the service (`BenefitService`) in `catalogue.services`. All arithmetic
is Decimal; nothing is rounded here (the API turns the exact results into JSON numbers, people round when
they show them).

Formulas (hours, DKK and FTE of one benefit record):

- realised hours = cases handled × minutes saved per case / 60
- DKK saved      = realised hours × the municipality's hourly cost (else the network default)
- FTE            = realised hours / annual working hours
- net DKK        = DKK saved − running cost
- expected hours = the adoption's expected hours per year (cases × minutes / 60 × automation rate / 100, the
  adoption's own inputs, else the process's) × the months its records cover in that year / 12
- avoided build hours = the process's build hours, once for each adopter other than the owner that runs a bot
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from catalogue.models import Adoption, Process
from catalogue.vocab import DOMAINS
from core.errors import Invalid

GroupBy = Literal["process", "municipality", "year", "month", "domain"]
GROUP_BYS: tuple[str, ...] = ("process", "municipality", "year", "month", "domain")
RUNNING_STATUSES = frozenset({"implementing", "operation"})
MinutesSource = Literal["record", "adoption", "process"]

_PERIOD = re.compile(r"^([0-9]{4})(?:-Q([1-4])|-(0[1-9]|1[0-2]))?$")  # ASCII digits only
FIRST_YEAR, LAST_YEAR = 1990, 2100
ZERO = Decimal(0)
SIXTY = Decimal(60)
TWELVE = Decimal(12)


# ---------------------------------------------------------------- numbers


def to_decimal(value: float | int | Decimal | None) -> Decimal | None:
    """A number from JSON as the decimal a person typed (3.2 stays 3.2, not 3.2000000000000002)."""
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def to_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def expected_hours(cases: int | None, minutes: Decimal | None, rate: Decimal | None) -> Decimal | None:
    """Expected hours saved per year = cases × minutes / 60 × rate / 100, with all its decimals."""
    if cases is None or minutes is None or rate is None:
        return None
    return Decimal(cases) * minutes / Decimal(60) * rate / Decimal(100)


# ---------------------------------------------------------------- periods


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period: a year (`2024`), a quarter (`2024-Q2`) or a month (`2024-05`)."""

    year: int
    first_month: int
    months: int  # 12, 3 or 1
    text: str = field(compare=False)

    @property
    def kind(self) -> Literal["year", "quarter", "month"]:
        return "year" if self.months == 12 else "quarter" if self.months == 3 else "month"

    @property
    def last_month(self) -> int:
        return self.first_month + self.months - 1

    @property
    def month_numbers(self) -> range:
        return range(self.first_month, self.last_month + 1)

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.first_month, 1)

    @property
    def end(self) -> dt.date:
        if self.last_month == 12:
            return dt.date(self.year, 12, 31)
        return dt.date(self.year, self.last_month + 1, 1) - dt.timedelta(days=1)

    def within(self, first: Period | None, last: Period | None) -> bool:
        """Whether this period lies wholly inside [first, last] (either end may be open)."""
        return (first is None or first.start <= self.start) and (last is None or self.end <= last.end)


def parse_period(text: str, field: str = "period") -> Period:
    """`YYYY`, `YYYY-Qn` or `YYYY-MM`; anything else is Invalid, naming `field`."""
    match = _PERIOD.fullmatch(text or "")
    if match is None:
        raise Invalid(
            f"{field}: {text!r} is not a period; write a year (2024), a quarter (2024-Q2) or a month (2024-05).",
            field=field,
        )
    year = int(match.group(1))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(f"{field}: the year must be between {FIRST_YEAR} and {LAST_YEAR}.", field=field)
    if match.group(2):
        quarter = int(match.group(2))
        return Period(year=year, first_month=3 * quarter - 2, months=3, text=text)
    if match.group(3):
        return Period(year=year, first_month=int(match.group(3)), months=1, text=text)
    return Period(year=year, first_month=1, months=12, text=text)


def period_range(first: str | None, last: str | None) -> tuple[Period | None, Period | None]:
    """The `from` and `to` filters; `to` must not end before `from` starts."""
    start = parse_period(first, "from") if first else None
    end = parse_period(last, "to") if last else None
    if start and end and end.end < start.start:
        raise Invalid(f"to: {last} ends before from ({first}) begins.", field="to")
    return start, end


# ---------------------------------------------------------------- formulas


@dataclass(frozen=True)
class BenefitSettings:
    """The network's defaults: `RPABANK_HOURLY_COST_DKK` and `RPABANK_ANNUAL_HOURS`."""

    hourly_cost_dkk: Decimal = Decimal("450")
    annual_hours: Decimal = Decimal("1628")


DEFAULT_SETTINGS = BenefitSettings()


def realised_hours(cases: int, minutes_saved_per_case: Decimal) -> Decimal:
    return Decimal(cases) * minutes_saved_per_case / SIXTY


def dkk_saved(hours: Decimal, hourly_cost_dkk: Decimal) -> Decimal:
    return hours * hourly_cost_dkk


def fte(hours: Decimal, annual_hours: Decimal) -> Decimal:
    return hours / annual_hours


def net_dkk(saved: Decimal, running_cost_dkk: Decimal | None) -> Decimal:
    return saved - (running_cost_dkk or ZERO)


def effective_minutes(
    record: Decimal | None, adoption: Decimal | None, process: Decimal | None
) -> tuple[Decimal | None, MinutesSource | None]:
    """Minutes saved per case: the record's own, else the adoption's minutes per case, else the process's."""
    for value, source in ((record, "record"), (adoption, "adoption"), (process, "process")):
        if value is not None:
            return value, source  # type: ignore[return-value]
    return None, None


def hourly_cost(municipality_setting: Decimal | None, settings: BenefitSettings) -> Decimal:
    return settings.hourly_cost_dkk if municipality_setting is None else municipality_setting


def adoption_expected_hours(adoption: Adoption, process: Process) -> Decimal | None:
    """Expected hours per year of one adoption: its own inputs where given, else the process's."""

    def pick(own: Any, fallback: Any) -> Any:
        return fallback if own is None else own

    return expected_hours(
        pick(adoption.cases_per_year, process.cases_per_year),
        pick(adoption.minutes_per_case, process.minutes_per_case),
        pick(adoption.automation_rate, process.automation_rate),
    )


def avoided_build_hours(owner: str, adopter: str, runs_bot: bool, build_hours: Decimal | None) -> Decimal:
    """An adopter other than the owner that runs an existing bot did not build it: it avoided build_hours."""
    if adopter == owner or not runs_bot or build_hours is None:
        return ZERO
    return build_hours


# ---------------------------------------------------------------- aggregation (pure)


@dataclass(frozen=True)
class AdoptionFacts:
    """What the aggregation needs to know about one adoption (no ORM)."""

    process: str
    process_title: str
    domain: str
    municipality: str
    municipality_name: str
    status: str
    expected_hours_per_year: Decimal | None
    hourly_cost_dkk: Decimal
    avoided_build_hours: Decimal = ZERO

    @property
    def key(self) -> tuple[str, str]:
        return (self.process, self.municipality)


@dataclass(frozen=True)
class RecordFacts:
    adoption: AdoptionFacts
    period: Period
    cases_handled: int
    minutes_saved_per_case: Decimal | None
    running_cost_dkk: Decimal | None = None
    budget_realised: bool = False
    qualitative: tuple[int | None, int | None, int | None] = (None, None, None)  # quality, work env., citizen
    source: str = "manual"  # "runs": computed from run data
    share: Decimal = Decimal(1)  # by month, a quarter or a year is spread evenly over its months
    counts: bool = True  # the piece that counts as the record (the first month of a spread one)

    @property
    def hours(self) -> Decimal:
        if self.minutes_saved_per_case is None:
            return ZERO
        return realised_hours(self.cases_handled, self.minutes_saved_per_case) * self.share

    def by_month(self) -> list[RecordFacts]:
        """The record as one piece per month it covers, each with its share of the figures."""
        if self.period.months == 1:
            return [self]
        share = self.share / Decimal(self.period.months)
        return [
            replace(
                self,
                period=Period(year=self.period.year, first_month=m, months=1, text=f"{self.period.year:04d}-{m:02d}"),
                share=share,
                counts=self.counts and index == 0,
            )
            for index, m in enumerate(self.period.month_numbers)
        ]


@dataclass
class Figures:
    """The exact figures of one group (or of the whole selection)."""

    expected_hours: Decimal = ZERO
    expected_dkk: Decimal = ZERO
    realised_hours: Decimal = ZERO
    realised_hours_runs: Decimal = ZERO  # the part of realised_hours computed from run data
    dkk_saved: Decimal = ZERO
    running_cost_dkk: Decimal = ZERO
    budget_realised_dkk: Decimal = ZERO
    fte: Decimal = ZERO
    net_dkk: Decimal = ZERO
    adopters: int = 0
    avoided_build_hours: Decimal = ZERO
    records: int = 0
    # KL's qualitative benefits: the mean of the 1–5 answers given (None where none was)
    quality: Decimal | None = None
    work_environment: Decimal | None = None
    citizen_experience: Decimal | None = None

    @property
    def realisation_pct(self) -> Decimal | None:
        return None if not self.expected_hours else self.realised_hours / self.expected_hours * 100


@dataclass
class _Group:
    records: list[RecordFacts] = field(default_factory=list)
    adopters: dict[tuple[str, str], AdoptionFacts] = field(default_factory=dict)
    build_credit: dict[tuple[str, str], AdoptionFacts] = field(default_factory=dict)

    def figures(self, annual_hours: Decimal) -> Figures:
        f = Figures()
        covered: dict[tuple[tuple[str, str], int], set[int]] = {}
        by_key: dict[tuple[str, str], AdoptionFacts] = {}
        for r in self.records:
            hours = r.hours
            saved = dkk_saved(hours, r.adoption.hourly_cost_dkk)
            f.realised_hours += hours
            if r.source == "runs":
                f.realised_hours_runs += hours
            f.dkk_saved += saved
            f.running_cost_dkk += (r.running_cost_dkk or ZERO) * r.share
            if r.budget_realised:
                f.budget_realised_dkk += saved
            f.records += 1 if r.counts else 0
            covered.setdefault((r.adoption.key, r.period.year), set()).update(r.period.month_numbers)
            by_key[r.adoption.key] = r.adoption
        for (key, _year), months in covered.items():
            a = by_key[key]
            if a.expected_hours_per_year is not None:
                part = a.expected_hours_per_year * Decimal(len(months)) / TWELVE
                f.expected_hours += part
                f.expected_dkk += dkk_saved(part, a.hourly_cost_dkk)
        f.quality, f.work_environment, f.citizen_experience = (
            mean_of(r.qualitative[i] for r in self.records) for i in range(3)
        )
        f.fte = fte(f.realised_hours, annual_hours)
        f.net_dkk = net_dkk(f.dkk_saved, f.running_cost_dkk)
        f.adopters = len(self.adopters)
        f.avoided_build_hours = sum((a.avoided_build_hours for a in self.build_credit.values()), ZERO)
        return f


def adopters_of(adoptions: Iterable[AdoptionFacts], records: Iterable[RecordFacts]) -> list[AdoptionFacts]:
    """The adopters of a selection: adoptions being implemented or in operation, and any that reported."""
    reported = {r.adoption.key for r in records}
    return [a for a in adoptions if a.status in RUNNING_STATUSES or a.key in reported]


def group_key(group_by: str, a: AdoptionFacts, period: Period | None) -> Any:
    if group_by == "process":
        return a.process
    if group_by == "municipality":
        return a.municipality
    if group_by == "domain":
        return a.domain
    if period is None:
        return None
    return period.text if group_by == "month" else period.year


def summarise(
    adoptions: Sequence[AdoptionFacts], records: Sequence[RecordFacts], group_by: str, annual_hours: Decimal
) -> tuple[list[tuple[Any, AdoptionFacts | None, Figures]], Figures]:
    """Rows (group key, an adoption of the group for its labels, figures) and the totals of the selection.

    `records` are the selected benefit records, `adoptions` the adoptions matching the selection's filters.
    An adopter counts once in the totals; by year it counts in each year it reported, and its avoided build
    hours go to the first of those years. Adopters without records in the selection have no year.
    """
    adopters = adopters_of(adoptions, records)
    groups: dict[Any, _Group] = {}
    labels: dict[Any, AdoptionFacts] = {}
    first_year: dict[tuple[str, str], Any] = {}
    pieces = [piece for r in records for piece in r.by_month()] if group_by == "month" else records
    for r in sorted(pieces, key=lambda r: r.period):
        key = group_key(group_by, r.adoption, r.period)
        g = groups.setdefault(key, _Group())
        g.records.append(r)
        g.adopters[r.adoption.key] = r.adoption
        labels.setdefault(key, r.adoption)
        first_year.setdefault(r.adoption.key, key if group_by == "month" else r.period.year)
    for a in adopters:
        if group_by in ("year", "month"):
            year = first_year.get(a.key)
            if year is not None:
                groups[year].build_credit[a.key] = a
            continue
        key = group_key(group_by, a, None)
        g = groups.setdefault(key, _Group())
        g.adopters[a.key] = a
        g.build_credit[a.key] = a
        labels.setdefault(key, a)

    everything = _Group(
        records=list(records), adopters={a.key: a for a in adopters}, build_credit={a.key: a for a in adopters}
    )
    rows = [(key, labels.get(key), g.figures(annual_hours)) for key, g in groups.items()]
    rows.sort(key=lambda row: _order(group_by, row[0], row[1]))
    return rows, everything.figures(annual_hours)


def _order(group_by: str, key: Any, a: AdoptionFacts | None) -> tuple[Any, ...]:
    if group_by in ("year", "month"):
        return (key,)
    if a is None:
        return (str(key),)
    label = {
        "process": a.process_title,
        "municipality": a.municipality_name,
        "domain": DOMAINS.get(a.domain, a.domain),
    }[group_by]
    return (label.casefold(), str(key))


def mean_of(values: Iterable[int | None]) -> Decimal | None:
    """The mean of the values given, to 2 decimals; None when none was."""
    given = [v for v in values if v is not None]
    if not given:
        return None
    return (Decimal(sum(given)) / Decimal(len(given))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------- screening and the idea board

SCREENING_DIMENSIONS = ("potential", "ease")
ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True)
class Question:
    id: str
    dimension: str  # "potential" | "ease"
    weight: Decimal


@dataclass(frozen=True)
class ScreeningEstimate:
    score: Decimal  # 0–100: every question
    automation_potential: Decimal  # 0–100: the "potential" questions
    ease: Decimal  # 0–100: the "ease" questions


def screening_estimate(answers: dict[str, int], questions: Sequence[Question]) -> ScreeningEstimate:
    """Each answer a (1–5) counts as (a − 1) / 4, so 1 is 0 % and 5 is 100 %; a percentage is the weighted mean
    of its questions × 100: score over all questions, automation potential over the "potential" questions, ease
    over the "ease" questions; rounded to one decimal (half up). Every question must be answered."""

    def pct(qs: Sequence[Question]) -> Decimal:
        total = sum((q.weight for q in qs), ZERO)
        if not total:
            return ZERO
        points = sum((q.weight * Decimal(answers[q.id] - 1) / Decimal(4) for q in qs), ZERO)
        return (points / total * 100).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)

    return ScreeningEstimate(
        score=pct(questions),
        automation_potential=pct([q for q in questions if q.dimension == "potential"]),
        ease=pct([q for q in questions if q.dimension == "ease"]),
    )


# How the idea board ranks: interest weighs 40 %, the screening score 40 %, the combined expected hours 20 %;
# interest and hours count relative to the idea on the board with the most.
PRIORITY_WEIGHTS = {"interest": Decimal("0.4"), "score": Decimal("0.4"), "hours": Decimal("0.2")}


def idea_priority(
    interested: int, score: Decimal | None, hours: Decimal, most_interested: int, most_hours: Decimal
) -> Decimal:
    """priority = 100 × (0.4 × interested / most interested + 0.4 × score / 100 + 0.2 × hours / most hours),
    a term being 0 when its maximum on the board is 0; rounded to one decimal (half up)."""
    w = PRIORITY_WEIGHTS
    value = w["score"] * (score or ZERO) / 100
    if most_interested:
        value += w["interest"] * Decimal(interested) / Decimal(most_interested)
    if most_hours:
        value += w["hours"] * hours / most_hours
    return (value * 100).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
