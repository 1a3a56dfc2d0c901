"""Benefit realisation (gevinstrealisering): what each adoption actually saved, period by period.

The pure functions at the top hold every formula and can be tested without a database; the service at the
bottom reads and writes benefit records and aggregates them for the network. All arithmetic is Decimal;
nothing is rounded here (the API turns the exact results into JSON numbers, people round when they show them).

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
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Adoption, BenefitRecord, Municipality, Process
from catalogue.schemas import LongText
from catalogue.services import (
    MunicipalityService,
    ProcessService,
    expected_hours,
    to_decimal,
    to_float,
    visible_processes,
)
from catalogue.vocab import DOMAINS
from core.actors import Actor
from core.db import utcnow
from core.errors import Invalid, NotFound

GroupBy = Literal["process", "municipality", "year", "domain"]
GROUP_BYS: tuple[str, ...] = ("process", "municipality", "year", "domain")
RUNNING_STATUSES = frozenset({"implementing", "operation"})
MinutesSource = Literal["record", "adoption", "process"]

_PERIOD = re.compile(r"^([0-9]{4})(?:-Q([1-4])|-(0[1-9]|1[0-2]))?$")  # ASCII digits only
FIRST_YEAR, LAST_YEAR = 1990, 2100
ZERO = Decimal(0)
SIXTY = Decimal(60)
TWELVE = Decimal(12)


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

    @property
    def hours(self) -> Decimal:
        if self.minutes_saved_per_case is None:
            return ZERO
        return realised_hours(self.cases_handled, self.minutes_saved_per_case)


@dataclass
class Figures:
    """The exact figures of one group (or of the whole selection)."""

    expected_hours: Decimal = ZERO
    expected_dkk: Decimal = ZERO
    realised_hours: Decimal = ZERO
    dkk_saved: Decimal = ZERO
    running_cost_dkk: Decimal = ZERO
    budget_realised_dkk: Decimal = ZERO
    fte: Decimal = ZERO
    net_dkk: Decimal = ZERO
    adopters: int = 0
    avoided_build_hours: Decimal = ZERO
    records: int = 0

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
            f.dkk_saved += saved
            f.running_cost_dkk += r.running_cost_dkk or ZERO
            if r.budget_realised:
                f.budget_realised_dkk += saved
            f.records += 1
            covered.setdefault((r.adoption.key, r.period.year), set()).update(r.period.month_numbers)
            by_key[r.adoption.key] = r.adoption
        for (key, _year), months in covered.items():
            a = by_key[key]
            if a.expected_hours_per_year is not None:
                part = a.expected_hours_per_year * Decimal(len(months)) / TWELVE
                f.expected_hours += part
                f.expected_dkk += dkk_saved(part, a.hourly_cost_dkk)
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
    return None if period is None else period.year


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
    first_year: dict[tuple[str, str], int] = {}
    for r in sorted(records, key=lambda r: r.period):
        key = group_key(group_by, r.adoption, r.period)
        g = groups.setdefault(key, _Group())
        g.records.append(r)
        g.adopters[r.adoption.key] = r.adoption
        labels.setdefault(key, r.adoption)
        first_year.setdefault(r.adoption.key, r.period.year)
    for a in adopters:
        if group_by == "year":
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
    if group_by == "year":
        return (key,)
    if a is None:
        return (str(key),)
    label = {
        "process": a.process_title,
        "municipality": a.municipality_name,
        "domain": DOMAINS.get(a.domain, a.domain),
    }[group_by]
    return (label.casefold(), str(key))


# ---------------------------------------------------------------- schemas

CasesHandled = Annotated[int, Meta(ge=0, le=10_000_000, description="cases the robot handled in the period")]
MinutesPerCase = Annotated[float, Meta(ge=0, le=10_000, description="minutes; at most 2 decimals")]
Dkk = Annotated[float, Meta(ge=0, le=1_000_000_000, description="DKK; at most 2 decimals")]


class BenefitWrite(Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole record of one period: PUT replaces it."""

    cases_handled: CasesHandled
    minutes_saved_per_case: MinutesPerCase | None = None
    baseline_minutes: MinutesPerCase | None = None
    running_cost_dkk: Dkk | None = None
    budget_realised: bool = False
    note: LongText | None = None


class BenefitRead(Struct, kw_only=True):
    process: str
    process_title: str
    municipality: str
    municipality_name: str
    period: str
    period_kind: str
    period_start: dt.date
    period_end: dt.date
    cases_handled: int
    minutes_saved_per_case: float | None  # the minutes used: the record's, else the adoption's or process's
    minutes_saved_per_case_from: str | None  # "record", "adoption" or "process"
    baseline_minutes: float | None
    running_cost_dkk: float | None
    budget_realised: bool
    note: str | None
    hourly_cost_dkk: float
    realised_hours: float
    hours_saved: float  # the same as realised_hours
    dkk_saved: float
    fte: float
    net_dkk: float
    created_at: dt.datetime
    updated_at: dt.datetime


class FiguresRead(Struct, kw_only=True):
    expected_hours: float
    realised_hours: float
    realisation_pct: float | None
    expected_dkk: float
    dkk_saved: float
    running_cost_dkk: float
    net_dkk: float
    budget_realised_dkk: float
    fte: float
    adopters: int
    avoided_build_hours: float
    records: int


class BenefitRow(FiguresRead, kw_only=True, omit_defaults=True):
    process: str | None = None
    process_title: str | None = None
    municipality: str | None = None
    municipality_name: str | None = None
    year: int | None = None
    domain: str | None = None
    domain_label: str | None = None


class BenefitSettingsRead(Struct, kw_only=True):
    hourly_cost_dkk: float
    annual_hours: float


class BenefitSummary(Struct, kw_only=True):
    group_by: str
    from_: str | None = msgspec.field(name="from")
    to: str | None
    settings: BenefitSettingsRead
    rows: list[BenefitRow]
    totals: FiguresRead


def figures_read(f: Figures) -> dict[str, Any]:
    pct = f.realisation_pct
    return {
        "expected_hours": float(f.expected_hours),
        "realised_hours": float(f.realised_hours),
        "realisation_pct": None if pct is None else float(pct),
        "expected_dkk": float(f.expected_dkk),
        "dkk_saved": float(f.dkk_saved),
        "running_cost_dkk": float(f.running_cost_dkk),
        "net_dkk": float(f.net_dkk),
        "budget_realised_dkk": float(f.budget_realised_dkk),
        "fte": float(f.fte),
        "adopters": f.adopters,
        "avoided_build_hours": float(f.avoided_build_hours),
        "records": f.records,
    }


def row_read(group_by: str, key: Any, a: AdoptionFacts | None, f: Figures) -> BenefitRow:
    labels: dict[str, Any] = {}
    if group_by == "process":
        labels = {"process": key, "process_title": a.process_title if a else None}
    elif group_by == "municipality":
        labels = {"municipality": key, "municipality_name": a.municipality_name if a else None}
    elif group_by == "domain":
        labels = {"domain": key, "domain_label": DOMAINS.get(key, key)}
    else:
        labels = {"year": key}
    return BenefitRow(**labels, **figures_read(f))


@dataclass(frozen=True)
class BenefitFilters:
    process: str | None = None
    municipality: str | None = None
    domain: str | None = None
    first: str | None = None  # the `from` period
    last: str | None = None  # the `to` period


# ---------------------------------------------------------------- service


def _two_decimals(value: float | None, field: str) -> Decimal | None:
    number = to_decimal(value)
    if number is not None and number != number.quantize(Decimal("0.01")):
        raise Invalid(f"{field}: at most 2 decimals, not {value}.", field=field)
    return number


def _period_order(text: str) -> tuple[int, int, int]:
    p = parse_period(text)
    return (p.year, p.first_month, -p.months)


class BenefitService:
    """Benefit records of adoptions. Reads need no rights beyond seeing the process; writes are the
    adopting municipality's (its editors) or an admin's, exactly like the adoption itself."""

    def __init__(self, session: AsyncSession, settings: BenefitSettings = DEFAULT_SETTINGS) -> None:
        self.session = session
        self.settings = settings

    # -------------------------------------------------------- one adoption

    async def _adoption(self, actor: Actor, process_id: str, code: str) -> tuple[Adoption, Process, Municipality]:
        process = await ProcessService(self.session).get_model(actor, process_id)
        municipality = await MunicipalityService(self.session).get_model(code)
        adoption = await self.session.get(Adoption, (process_id, code))
        if adoption is None:
            raise NotFound(f"Municipality {code} has no adoption of {process_id!r}; register the adoption first.")
        return adoption, process, municipality

    def read(self, r: BenefitRecord, adoption: Adoption, process: Process, municipality: Municipality) -> BenefitRead:
        period = parse_period(r.period)
        minutes, source = effective_minutes(
            r.minutes_saved_per_case, adoption.minutes_per_case, process.minutes_per_case
        )
        hours = ZERO if minutes is None else realised_hours(r.cases_handled, minutes)
        cost = hourly_cost(municipality.hourly_cost_dkk, self.settings)
        saved = dkk_saved(hours, cost)
        return BenefitRead(
            process=process.id,
            process_title=process.title,
            municipality=municipality.code,
            municipality_name=municipality.name,
            period=r.period,
            period_kind=period.kind,
            period_start=period.start,
            period_end=period.end,
            cases_handled=r.cases_handled,
            minutes_saved_per_case=to_float(minutes),
            minutes_saved_per_case_from=source,
            baseline_minutes=to_float(r.baseline_minutes),
            running_cost_dkk=to_float(r.running_cost_dkk),
            budget_realised=r.budget_realised,
            note=r.note,
            hourly_cost_dkk=float(cost),
            realised_hours=float(hours),
            hours_saved=float(hours),
            dkk_saved=float(saved),
            fte=float(fte(hours, self.settings.annual_hours)),
            net_dkk=float(net_dkk(saved, r.running_cost_dkk)),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )

    async def list_for_adoption(self, actor: Actor, process_id: str, code: str) -> list[BenefitRead]:
        adoption, process, municipality = await self._adoption(actor, process_id, code)
        rows = (
            await self.session.scalars(
                select(BenefitRecord).where(
                    BenefitRecord.process_id == process_id, BenefitRecord.municipality_code == code
                )
            )
        ).all()
        rows = sorted(rows, key=lambda r: _period_order(r.period))
        return [self.read(r, adoption, process, municipality) for r in rows]

    async def _record(self, process_id: str, code: str, period: str) -> BenefitRecord | None:
        return await self.session.scalar(
            select(BenefitRecord).where(
                BenefitRecord.process_id == process_id,
                BenefitRecord.municipality_code == code,
                BenefitRecord.period == period,
            )
        )

    async def get(self, actor: Actor, process_id: str, code: str, period: str) -> BenefitRead:
        parse_period(period)
        adoption, process, municipality = await self._adoption(actor, process_id, code)
        record = await self._record(process_id, code, period)
        if record is None:
            raise NotFound(f"Municipality {code} has reported no benefits of {process_id!r} for {period}.")
        return self.read(record, adoption, process, municipality)

    async def put(
        self, actor: Actor, process_id: str, code: str, period: str, data: BenefitWrite
    ) -> tuple[BenefitRead, bool]:
        actor.require_authenticated()
        await ProcessService(self.session).get_model(actor, process_id)
        await MunicipalityService(self.session).get_model(code)
        actor.require_write_for(code, f"the benefits of municipality {code}")
        parse_period(period)
        adoption, process, municipality = await self._adoption(actor, process_id, code)
        minutes = _two_decimals(data.minutes_saved_per_case, "minutes_saved_per_case")
        baseline = _two_decimals(data.baseline_minutes, "baseline_minutes")
        running = _two_decimals(data.running_cost_dkk, "running_cost_dkk")
        used, _ = effective_minutes(minutes, adoption.minutes_per_case, process.minutes_per_case)
        if used is None:
            raise Invalid(
                "minutes_saved_per_case: give it; neither the adoption nor the process has minutes "
                "per case to use instead.",
                field="minutes_saved_per_case",
            )
        if baseline is not None and used > baseline:
            raise Invalid(
                f"minutes_saved_per_case: {used} minutes saved per case is more than the baseline of "
                f"{baseline} minutes.",
                field="minutes_saved_per_case",
            )
        record = await self._record(process_id, code, period)
        created = record is None
        now = utcnow()
        if record is None:
            record = BenefitRecord(process_id=process_id, municipality_code=code, period=period, created_at=now)
            self.session.add(record)
        record.cases_handled = data.cases_handled
        record.minutes_saved_per_case = minutes
        record.baseline_minutes = baseline
        record.running_cost_dkk = running
        record.budget_realised = data.budget_realised
        record.note = data.note.strip() or None if data.note is not None else None
        record.updated_at = now
        await self.session.flush()
        return self.read(record, adoption, process, municipality), created

    async def delete(self, actor: Actor, process_id: str, code: str, period: str) -> None:
        actor.require_authenticated()
        await ProcessService(self.session).get_model(actor, process_id)
        actor.require_write_for(code, f"the benefits of municipality {code}")
        parse_period(period)
        record = await self._record(process_id, code, period)
        if record is None:
            raise NotFound(f"Municipality {code} has reported no benefits of {process_id!r} for {period}.")
        await self.session.delete(record)
        await self.session.flush()

    # -------------------------------------------------------- the network

    def _adoptions(self, actor: Actor, f: BenefitFilters) -> Any:  # a Select of (Adoption, Process, Municipality)
        stmt = (
            select(Adoption, Process, Municipality)
            .join(Process, Process.id == Adoption.process_id)
            .join(Municipality, Municipality.code == Adoption.municipality_code)
            .where(visible_processes(actor))
        )
        if f.process:
            stmt = stmt.where(Adoption.process_id == f.process)
        if f.municipality:
            stmt = stmt.where(Adoption.municipality_code == f.municipality)
        if f.domain:
            stmt = stmt.where(Process.domain == f.domain)
        return stmt

    async def selection(
        self, actor: Actor, f: BenefitFilters
    ) -> tuple[list[AdoptionFacts], list[RecordFacts], list[BenefitRead]]:
        """The adoptions and the benefit records a filter selects, as facts and as records to show."""
        first, last = period_range(f.first, f.last)
        facts: dict[tuple[str, str], AdoptionFacts] = {}
        loaded: dict[tuple[str, str], tuple[Adoption, Process, Municipality]] = {}
        for a, p, m in (await self.session.execute(self._adoptions(actor, f))).all():
            facts[(a.process_id, a.municipality_code)] = AdoptionFacts(
                process=p.id,
                process_title=p.title,
                domain=p.domain,
                municipality=m.code,
                municipality_name=m.name,
                status=a.status,
                expected_hours_per_year=adoption_expected_hours(a, p),
                hourly_cost_dkk=hourly_cost(m.hourly_cost_dkk, self.settings),
                avoided_build_hours=avoided_build_hours(
                    p.owner_municipality, m.code, a.bot_repo is not None, p.build_hours
                ),
            )
            loaded[(a.process_id, a.municipality_code)] = (a, p, m)
        stmt = (
            select(BenefitRecord).join(Process, Process.id == BenefitRecord.process_id).where(visible_processes(actor))
        )
        if f.process:
            stmt = stmt.where(BenefitRecord.process_id == f.process)
        if f.municipality:
            stmt = stmt.where(BenefitRecord.municipality_code == f.municipality)
        if f.domain:
            stmt = stmt.where(Process.domain == f.domain)
        records: list[RecordFacts] = []
        shown: list[BenefitRead] = []
        rows = (await self.session.scalars(stmt)).all()
        for r in sorted(rows, key=lambda r: (r.process_id, r.municipality_code, _period_order(r.period))):
            key = (r.process_id, r.municipality_code)
            period = parse_period(r.period)
            if key not in facts or not period.within(first, last):
                continue
            a, p, _ = loaded[key]
            minutes, _ = effective_minutes(r.minutes_saved_per_case, a.minutes_per_case, p.minutes_per_case)
            records.append(
                RecordFacts(
                    adoption=facts[key],
                    period=period,
                    cases_handled=r.cases_handled,
                    minutes_saved_per_case=minutes,
                    running_cost_dkk=r.running_cost_dkk,
                    budget_realised=r.budget_realised,
                )
            )
            shown.append(self.read(r, *loaded[key]))
        return list(facts.values()), records, shown

    async def summary(self, actor: Actor, group_by: str, f: BenefitFilters) -> BenefitSummary:
        if group_by not in GROUP_BYS:
            raise Invalid(f"group_by: one of {', '.join(GROUP_BYS)}.", field="group_by")
        adoptions, records, _ = await self.selection(actor, f)
        return self._summary(group_by, f, adoptions, records)

    async def report(self, actor: Actor, f: BenefitFilters) -> tuple[dict[str, BenefitSummary], list[BenefitRead]]:
        """Every grouping of one selection, and its records (for spreadsheets)."""
        adoptions, records, shown = await self.selection(actor, f)
        return {g: self._summary(g, f, adoptions, records) for g in GROUP_BYS}, shown

    def _summary(
        self, group_by: str, f: BenefitFilters, adoptions: Sequence[AdoptionFacts], records: Sequence[RecordFacts]
    ) -> BenefitSummary:
        rows, totals = summarise(adoptions, records, group_by, self.settings.annual_hours)
        return BenefitSummary(
            group_by=group_by,
            from_=f.first,
            to=f.last,
            settings=BenefitSettingsRead(
                hourly_cost_dkk=float(self.settings.hourly_cost_dkk), annual_hours=float(self.settings.annual_hours)
            ),
            rows=[row_read(group_by, key, a, fig) for key, a, fig in rows],
            totals=FiguresRead(**figures_read(totals)),
        )
