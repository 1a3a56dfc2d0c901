"""Realised benefits from run data: the saving rule of an adoption, runs pushed by bots or imported from
orchestrator files, the monthly figures they make, and the benefit records computed from them.

What is stored: for idempotency, each counted run's id under its adoption's rule (`runs_seen`); for the
figures, one row per adoption and calendar month (Danish time) with runs and units by outcome (`run_months`).
The runs themselves (times, payloads) are not kept.

A month with runs becomes the adoption's benefit record for that month with `source` "runs": cases handled =
successful units, minutes per case = the rule's minutes per unit (empty: the adoption's, then the process's).
A record typed in by hand (`source` "manual") for that month, or for the quarter or year around it, is never
overwritten: the month shows both figures as a conflict until the user chooses (`choose`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import IO, Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.formulas import (
    DEFAULT_SETTINGS,
    ZERO,
    BenefitSettings,
    dkk_saved,
    effective_minutes,
    hourly_cost,
    parse_period,
    realised_hours,
    to_decimal,
    to_float,
)
from catalogue.models import Adoption, BenefitRecord, Municipality, Process, RunMonth, RunRule
from catalogue.runfiles import (
    DANISH,
    OUTCOMES,
    CellError,
    ParsedRun,
    RowProblem,
    RunFileError,
    month_of,
    open_run_file,
)
from catalogue.schemas import (
    ManualFigures,
    MissingFigures,
    RunImportAdoption,
    RunImportCell,
    RunImportReport,
    RunImportRow,
    RunMonthRead,
    RunOverview,
    RunPush,
    RunPushResult,
    RunRuleRead,
    RunRuleWrite,
)
from catalogue.services import (
    BenefitService,
    MunicipalityService,
    ProcessService,
    adoption_names,
    chosen,
    visible_adoptions,
)
from core.actors import Actor
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound
from core.reads import read_from

BATCH = 5_000
# Record a chunk of run ids of one rule and answer those that were new, in one statement with two parameters.
_NEW_RUNS = {
    "postgresql": text(
        "INSERT INTO runs_seen (rule_id, run_id) SELECT :rule, unnest(CAST(:ids AS VARCHAR[])) "
        "ON CONFLICT DO NOTHING RETURNING run_id"
    ),
    "sqlite": text(
        "INSERT INTO runs_seen (rule_id, run_id) SELECT :rule, value FROM json_each(:ids) WHERE true "
        "ON CONFLICT DO NOTHING RETURNING run_id"
    ),
}
INSERT_CHUNK = 5_000  # run ids per statement
REPORT_ROWS = 1_000
Counts = list[int]  # success runs, success units, failure runs, failure units, exception runs, exception units


def success_rate(successes: int, runs: int) -> Decimal | None:
    return None if runs == 0 else Decimal(successes) * 100 / Decimal(runs)


def covering_periods(month: str) -> tuple[str, str, str]:
    """The month itself, its quarter and its year: the periods whose record counts for the month."""
    p = parse_period(month)
    return month, f"{p.year}-Q{(p.first_month - 1) // 3 + 1}", str(p.year)


def months_between(first: dt.date, last: dt.date) -> list[str]:
    """Every month from `first`'s to `last`'s, inclusive (`YYYY-MM`)."""
    out: list[str] = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def last_completed_month(today: dt.date) -> dt.date:
    return today.replace(day=1) - dt.timedelta(days=1)


@dataclass(slots=True)
class _Run:
    rule_id: int
    run_id: str
    month: str
    outcome: str
    units: int


class _Ingest:
    """Counts runs into their adoptions' months, each run id once. Memory: one batch and the touched months."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.months: dict[tuple[int, str], Counts] = {}
        self.accepted: Counter[int] = Counter()
        self.duplicates: Counter[int] = Counter()
        self.periods: dict[int, set[str]] = {}

    async def add(self, runs: Sequence[_Run]) -> list[bool]:
        """Count the runs not seen before; answers, per run, whether it was new. One statement per chunk of ids
        both records them and tells which were new (INSERT … ON CONFLICT DO NOTHING RETURNING)."""
        ids: dict[int, dict[str, None]] = {}
        for r in runs:
            ids.setdefault(r.rule_id, {})[r.run_id] = None
        new: set[tuple[int, str]] = set()
        statement = _NEW_RUNS[self.session.get_bind().dialect.name]
        for rule_id, unique in ids.items():
            values = list(unique)
            for start in range(0, len(values), INSERT_CHUNK):
                chunk = values[start : start + INSERT_CHUNK]
                param: Any = chunk if statement is _NEW_RUNS["postgresql"] else json.dumps(chunk)
                found = await self.session.scalars(statement, {"rule": rule_id, "ids": param})
                new.update((rule_id, run_id) for run_id in found)
        answers: list[bool] = []
        for r in runs:
            key = (r.rule_id, r.run_id)
            if key not in new:
                self.duplicates[r.rule_id] += 1
                answers.append(False)
                continue
            new.discard(key)  # a second copy in the same batch is a duplicate
            counts = self.months.setdefault((r.rule_id, r.month), [0] * 6)
            slot = 2 * OUTCOMES.index(r.outcome)
            counts[slot] += 1
            counts[slot + 1] += r.units
            self.accepted[r.rule_id] += 1
            self.periods.setdefault(r.rule_id, set()).add(r.month)
            answers.append(True)
        return answers

    async def finish(self, actor: Actor) -> None:
        """Add the counted runs to their months and bring the benefit records of those months up to date."""
        by_rule: dict[int, dict[str, Counts]] = {}
        for (rule_id, month), counts in self.months.items():
            by_rule.setdefault(rule_id, {})[month] = counts
        for rule_id, months in by_rule.items():
            rule = await self.session.get_one(RunRule, rule_id)
            existing = {
                m.month: m
                for m in await self.session.scalars(
                    select(RunMonth).where(RunMonth.rule_id == rule_id, RunMonth.month.in_(list(months)))
                )
            }
            for month, counts in months.items():
                row = existing.get(month)
                if row is None:
                    row = RunMonth(rule_id=rule_id, month=month, choice=None)
                    for name in _COUNT_FIELDS:
                        setattr(row, name, 0)
                    self.session.add(row)
                for name, value in zip(_COUNT_FIELDS, counts, strict=True):
                    setattr(row, name, getattr(row, name) + value)
                await refresh_record(self.session, rule, row, actor)
        await self.session.flush()


_COUNT_FIELDS = (
    "success_runs",
    "success_units",
    "failure_runs",
    "failure_units",
    "exception_runs",
    "exception_units",
)


async def refresh_record(session: AsyncSession, rule: RunRule, month: RunMonth, actor: Actor) -> None:
    """Make the month's benefit record the runs' figures, unless a record typed by hand counts for it."""
    periods = covering_periods(month.month)
    records = {
        r.period: r
        for r in await session.scalars(
            select(BenefitRecord).where(
                BenefitRecord.process_id == rule.process_id,
                BenefitRecord.municipality_code == rule.municipality_code,
                BenefitRecord.period.in_(periods),
            )
        )
    }
    if any(r.source == "manual" for period, r in records.items() if period != month.month):
        return  # a quarter or a year typed in by hand covers the month
    record = records.get(month.month)
    if record is not None and record.source == "manual" and month.choice != "runs":
        return
    now = utcnow()
    if record is None:
        record = BenefitRecord(
            process_id=rule.process_id,
            municipality_code=rule.municipality_code,
            period=month.month,
            created_at=now,
            budget_realised=False,
        )
        session.add(record)
    record.cases_handled = month.success_units
    record.minutes_saved_per_case = rule.minutes_per_unit
    record.baseline_minutes = None
    record.source = "runs"
    record.recorded_by, record.recorded_by_user_id = actor.name, actor.user_id
    record.updated_at = now


class RunService:
    """Saving rules, runs and their monthly figures. Reads are those of the process; writes (rules, runs,
    choices) are the adopting municipality's editors' and tokens', and admins'."""

    def __init__(self, session: AsyncSession, settings: BenefitSettings = DEFAULT_SETTINGS) -> None:
        self.session = session
        self.settings = settings
        self.benefits = BenefitService(session, settings)

    # -------------------------------------------------------- one adoption

    async def _for_write(self, actor: Actor, process_id: str, code: str) -> tuple[Adoption, Process, Municipality]:
        actor.require_writer()
        await ProcessService(self.session).get_model(actor, process_id)
        actor.require_write_for(code, f"the runs of municipality {code}")
        return await self.benefits.adoption(actor, process_id, code)

    async def _rule(self, adoption: Adoption) -> RunRule:
        rule = await self.session.scalar(
            select(RunRule).where(
                RunRule.process_id == adoption.process_id, RunRule.municipality_code == adoption.municipality_code
            )
        )
        if rule is None:
            now = utcnow()
            rule = RunRule(
                process_id=adoption.process_id,
                municipality_code=adoption.municipality_code,
                unit="run",
                minutes_per_unit=None,
                run_keys=[],
                created_at=now,
                updated_at=now,
            )
            self.session.add(rule)
            await self.session.flush()
        return rule

    async def overview(self, actor: Actor, process_id: str, code: str) -> RunOverview:
        adoption, process, municipality = await self.benefits.adoption(actor, process_id, code)
        rule = await self.session.scalar(
            select(RunRule).where(RunRule.process_id == process_id, RunRule.municipality_code == code)
        )
        minutes, source = effective_minutes(
            rule.minutes_per_unit if rule else None, adoption.minutes_per_case, process.minutes_per_case
        )
        rule_read = RunRuleRead(
            process=process_id,
            municipality=code,
            unit=rule.unit if rule else "run",
            minutes_per_unit=to_float(rule.minutes_per_unit) if rule else None,
            minutes_used=to_float(minutes),
            minutes_from="rule" if source == "record" else source,
            run_keys=list(rule.run_keys) if rule else [],
        )
        if rule is None:
            return RunOverview(rule=rule_read, months=[], success_rate=None)
        months = (
            await self.session.scalars(select(RunMonth).where(RunMonth.rule_id == rule.id).order_by(RunMonth.month))
        ).all()
        records = {
            r.period: r
            for r in await self.session.scalars(
                select(BenefitRecord).where(
                    BenefitRecord.process_id == process_id, BenefitRecord.municipality_code == code
                )
            )
        }
        cost = hourly_cost(municipality.hourly_cost_dkk, self.settings)
        shown: list[RunMonthRead] = []
        for m in months:
            covering = [records[p] for p in covering_periods(m.month) if p in records]
            manual_record = next((r for r in covering if r.source == "manual"), None)
            manual = None
            if manual_record is not None:
                read = self.benefits.read(manual_record, adoption, process, municipality)
                manual = ManualFigures(
                    period=read.period,
                    cases_handled=read.cases_handled,
                    realised_hours=read.realised_hours,
                    dkk_saved=read.dkk_saved,
                )
            hours = ZERO if minutes is None else realised_hours(m.success_units, minutes)
            runs = m.success_runs + m.failure_runs + m.exception_runs
            rate = success_rate(m.success_runs, runs)
            shown.append(
                read_from(
                    RunMonthRead,
                    m,
                    runs=runs,
                    business_exception_runs=m.exception_runs,
                    business_exception_units=m.exception_units,
                    success_rate=to_float(rate),
                    runs_hours=float(hours),
                    runs_dkk=float(dkk_saved(hours, cost)),
                    record_source=covering[0].source if covering else None,
                    manual=manual,
                    conflict=manual is not None and m.choice != "manual",
                )
            )
        total = sum(m.runs for m in shown)
        return RunOverview(
            rule=rule_read,
            months=shown,
            success_rate=to_float(success_rate(sum(m.success_runs for m in shown), total)),
        )

    async def put_rule(self, actor: Actor, process_id: str, code: str, data: RunRuleWrite) -> RunOverview:
        adoption, _, _ = await self._for_write(actor, process_id, code)
        keys: list[str] = []
        for key in data.run_keys:
            if key.strip() and key.strip().casefold() not in {k.casefold() for k in keys}:
                keys.append(key.strip())
        others = await self.session.scalars(
            select(RunRule).where(RunRule.municipality_code == code, RunRule.process_id != process_id)
        )
        for other in others:
            taken = {k.casefold() for k in other.run_keys} & {k.casefold() for k in keys}
            if taken:
                raise Conflict(
                    f"run_keys: {', '.join(sorted(taken))} already names the runs of {other.process_id!r} in "
                    f"municipality {code}; a name can identify one adoption only.",
                    field="run_keys",
                )
        minutes = to_decimal(data.minutes_per_unit)
        if minutes is not None and minutes != minutes.quantize(Decimal("0.01")):
            raise Invalid(
                f"minutes_per_unit: at most 2 decimals, not {data.minutes_per_unit}.", field="minutes_per_unit"
            )
        rule = await self._rule(adoption)
        rule.unit = data.unit
        rule.minutes_per_unit = minutes
        rule.run_keys = keys
        rule.updated_at = utcnow()
        # the records computed from runs follow the rule's minutes
        for record in await self.session.scalars(
            select(BenefitRecord).where(
                BenefitRecord.process_id == process_id,
                BenefitRecord.municipality_code == code,
                BenefitRecord.source == "runs",
            )
        ):
            record.minutes_saved_per_case = minutes
        await self.session.flush()
        return await self.overview(actor, process_id, code)

    async def push(self, actor: Actor, process_id: str, code: str, data: RunPush) -> RunPushResult:
        adoption, _, _ = await self._for_write(actor, process_id, code)
        for i, run in enumerate(data.runs):
            if run.ended_at.tzinfo is None:
                raise Invalid(
                    f"runs[{i}].ended_at: give the time zone, e.g. 2024-05-03T10:15:00+02:00.",
                    field=f"runs[{i}].ended_at",
                )
        rule = await self._rule(adoption)
        ingest = _Ingest(self.session)
        await ingest.add([_Run(rule.id, r.id, month_of(r.ended_at), r.outcome, r.units) for r in data.runs])
        await ingest.finish(actor)
        return RunPushResult(
            accepted=ingest.accepted[rule.id],
            duplicates=ingest.duplicates[rule.id],
            periods=sorted(ingest.periods.get(rule.id, set())),
        )

    async def choose(self, actor: Actor, process_id: str, code: str, month: str, use: str) -> RunOverview:
        """For a month with runs and a record typed by hand: which figures count."""
        period = parse_period(month, "month")
        if period.kind != "month":
            raise Invalid("month: a month such as 2024-05.", field="month")
        adoption, _, _ = await self._for_write(actor, process_id, code)
        rule = await self._rule(adoption)
        row = await self.session.get(RunMonth, (rule.id, month))
        if row is None:
            raise NotFound(f"Municipality {code} has no runs of {process_id!r} in {month}.")
        covering = {
            r.period: r
            for r in await self.session.scalars(
                select(BenefitRecord).where(
                    BenefitRecord.process_id == process_id,
                    BenefitRecord.municipality_code == code,
                    BenefitRecord.period.in_(covering_periods(month)),
                    BenefitRecord.source == "manual",
                )
            )
        }
        wider = sorted(p for p in covering if p != month)
        if use == "runs" and wider:
            raise Conflict(
                f"use: the record of {wider[0]} typed in by hand covers {month}; change or remove it first.",
                field="use",
            )
        if use == "manual" and not covering:
            raise Conflict(f"use: no record typed in by hand counts for {month}; report one first.", field="use")
        row.choice = use
        await refresh_record(self.session, rule, row, actor)
        await self.session.flush()
        return await self.overview(actor, process_id, code)

    # -------------------------------------------------------- files

    async def import_file(
        self,
        actor: Actor,
        binary: IO[bytes],
        municipality: str | None,
        default_key: str | None = None,
        dry_run: bool = True,
    ) -> RunImportReport:
        """Import a run file for one municipality's adoptions, matched through their run keys. All or nothing:
        with any error row nothing is written (`written` false). A dry run answers the same report and writes
        nothing. Rows are read and counted in batches; only problem rows are listed (the first 1000)."""
        actor.require_writer()
        code = municipality or actor.municipality
        if code is None:
            raise Invalid("municipality: say whose runs these are (a 3-digit code).", field="municipality")
        await MunicipalityService(self.session).get_model(code)
        actor.require_write_for(code, f"the runs of municipality {code}")
        rules = (await self.session.scalars(select(RunRule).where(RunRule.municipality_code == code))).all()
        by_key = {key.casefold(): rule for rule in rules for key in rule.run_keys}
        try:
            run_file = open_run_file(binary, default_key)
        except RunFileError as exc:
            raise Invalid(f"file: {exc}", field="file") from None
        summary = {"accept": 0, "duplicate": 0, "ignore": 0, "error": 0}
        problems: list[RunImportRow] = []
        left_out = 0

        def note(problem: RowProblem) -> None:
            nonlocal left_out
            summary[problem.action] += 1
            if len(problems) >= REPORT_ROWS:
                left_out += 1
                return
            errors = [RunImportCell(column=e.column, field=e.field, message=e.message) for e in problem.errors]
            problems.append(RunImportRow(row=problem.row, action=problem.action, id=problem.id, errors=errors))

        savepoint = await self.session.begin_nested()
        ingest = _Ingest(self.session)
        rows = run_file.rows
        while batch := list(islice(rows, BATCH)):
            runs: list[_Run] = []
            for item in batch:
                if isinstance(item, RowProblem):
                    note(item)
                    continue
                rule = _match(item, by_key, run_file.format.kind)
                if isinstance(rule, RowProblem):
                    note(rule)
                    continue
                runs.append(_Run(rule.id, item.run_id, month_of(item.ended_at), item.outcome, item.units))
            if runs:  # inside the savepoint: a dry run or a file with errors is rolled back below
                for new in await ingest.add(runs):
                    summary["accept" if new else "duplicate"] += 1
        write = not dry_run and not summary["error"]
        if write:
            await ingest.finish(actor)
            await savepoint.commit()
        else:
            await savepoint.rollback()
        problems.sort(key=lambda p: p.row)
        by_id = {rule.id: rule for rule in rules}
        return RunImportReport(
            kind="runs",
            format=run_file.format.name,
            dry_run=dry_run,
            written=write,
            summary=summary,
            rows=problems,
            rows_left_out=left_out,
            periods=flatten_periods(ingest.periods.values()),
            adoptions=[
                RunImportAdoption(
                    process=by_id[rule_id].process_id,
                    municipality=code,
                    accepted=ingest.accepted[rule_id],
                    duplicates=ingest.duplicates[rule_id],
                    periods=sorted(ingest.periods.get(rule_id, set())),
                )
                for rule_id in sorted(set(ingest.accepted) | set(ingest.duplicates))
            ],
        )

    # -------------------------------------------------------- missing figures

    async def missing(
        self, actor: Actor, municipality: str | None = None, process: str | None = None, today: dt.date | None = None
    ) -> list[MissingFigures]:
        """Adoptions in operation without a benefit record for a completed month (Danish time), since they went
        live (else since they were registered)."""
        today = today or dt.datetime.now(DANISH).date()
        last = last_completed_month(today)
        stmt = (
            visible_adoptions(actor)
            .where(Adoption.status == "operation")
            .where(*chosen((Adoption.municipality_code, municipality), (Adoption.process_id, process)))
        )
        adoptions = (await self.session.execute(stmt.order_by(Municipality.name, Process.title))).all()
        if not adoptions:
            return []
        records = select(BenefitRecord.process_id, BenefitRecord.municipality_code, BenefitRecord.period).where(
            *chosen((BenefitRecord.municipality_code, municipality), (BenefitRecord.process_id, process))
        )
        covered: dict[tuple[str, str], set[str]] = {}
        for pid, code, period_text in (await self.session.execute(records)).all():
            period = parse_period(period_text)
            covered.setdefault((pid, code), set()).update(f"{period.year:04d}-{m:02d}" for m in period.month_numbers)
        out: list[MissingFigures] = []
        for a, p, m in adoptions:
            start = a.live_on or a.started_on or a.created_at.astimezone(DANISH).date()
            gaps = [month for month in months_between(start, last) if month not in covered.get((p.id, m.code), set())]
            if gaps:
                out.append(MissingFigures(**adoption_names(p, m), live_on=a.live_on, missing=gaps))
        return out


def _match(run: ParsedRun, by_key: dict[str, RunRule], kind: str | None) -> RunRule | RowProblem:
    """The adoption a run belongs to, through the first of its names that is a run key."""
    rule = next((by_key[k.casefold()] for k in run.keys if k.casefold() in by_key), None)
    if rule is None:
        names = ", ".join(run.keys) or "no name"
        return RowProblem(
            run.row,
            "ignore",
            run.run_id,
            [_cell("key", f"key: {names} is the run key of none of the municipality's adoptions: ignored")],
        )
    if kind is not None and kind != rule.unit:
        what = {"run": "runs", "item": "queue items"}
        return RowProblem(
            run.row,
            "error",
            run.run_id,
            [
                _cell(
                    "key",
                    f"key: the adoption of {rule.process_id!r} counts {what[rule.unit]}; this file holds {what[kind]}",
                )
            ],
        )
    return rule


def _cell(field: str, message: str) -> CellError:
    return CellError(None, field, message)


def flatten_periods(periods: Iterable[set[str]]) -> list[str]:
    return sorted(set().union(*periods))
