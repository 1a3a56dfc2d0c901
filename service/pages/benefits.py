"""Realised benefits for the pages, through the same benefits service as /api/benefits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalogue.schemas import BenefitFilters, BenefitRead, BenefitRow, FiguresRead
from catalogue.services import BenefitService
from core.actors import Actor
from service.pages.common import QUALITATIVE
from service.pages.forms import Field, parse_form

TOP_PROCESSES = 10
MONTHS_SHOWN = 12


@dataclass
class BenefitView:
    years: list[tuple[str, float]] = field(default_factory=list)  # (year, realised hours)
    expected_years: list[tuple[str, float]] = field(default_factory=list)  # (year, expected hours)
    dkk_years: list[tuple[str, float]] = field(default_factory=list)  # (year, realised DKK)
    total_hours: float = 0.0
    total_dkk: float | None = None
    top: list[tuple[str, str, float]] = field(default_factory=list)  # (process id, title, realised hours)
    records: list[BenefitRead] = field(default_factory=list)
    months: list[BenefitRow] = field(default_factory=list)  # the latest months: expected, realised, from runs
    totals: FiguresRead | None = None  # realisation %, FTE, net DKK, avoided build hours … over the whole selection


async def _view(benefits: BenefitService, actor: Actor, filters: BenefitFilters, *, top: bool = False) -> BenefitView:
    summaries, records = await benefits.report(actor, filters)
    by_year = sorted((r for r in summaries["year"].rows if r.year is not None), key=lambda r: r.year or 0)
    view = BenefitView(
        years=[(str(r.year), r.realised_hours) for r in by_year],
        expected_years=[(str(r.year), r.expected_hours) for r in by_year],
        dkk_years=[(str(r.year), r.dkk_saved) for r in by_year],
        total_hours=summaries["year"].totals.realised_hours,
        total_dkk=summaries["year"].totals.dkk_saved,
        records=records,
        months=summaries["month"].rows[-MONTHS_SHOWN:],
        totals=summaries["year"].totals,
    )
    if top:
        rows = sorted((r for r in summaries["process"].rows if r.realised_hours > 0), key=lambda r: -r.realised_hours)[
            :TOP_PROCESSES
        ]
        view.top = [(r.process or "", r.process_title or r.process or "", r.realised_hours) for r in rows]
    return view


async def benefits_for_process(benefits: BenefitService, actor: Actor, process_id: str) -> BenefitView:
    return await _view(benefits, actor, BenefitFilters(process=process_id))


async def benefits_for_municipality(benefits: BenefitService, actor: Actor, code: str) -> BenefitView:
    return await _view(benefits, actor, BenefitFilters(municipality=code))


async def network_benefits(benefits: BenefitService, actor: Actor) -> BenefitView:
    return await _view(benefits, actor, BenefitFilters(), top=True)


BENEFIT_SPEC = (
    Field("cases_handled", "Behandlede sager", "int", required=True, minimum=0, maximum=10_000_000),
    Field("minutes_saved_per_case", "Sparede minutter pr. sag", "decimal", minimum=0, maximum=10_000),
    Field("baseline_minutes", "Baseline", "decimal", minimum=0, maximum=10_000),
    Field("running_cost_dkk", "Driftsudgift", "decimal", minimum=0, maximum=1_000_000_000, example="12.500"),
    Field("budget_realised", "Hjemtaget i budgettet", "bool"),
    Field("note", "Note", max_length=5_000),
    *(Field(name, label, "int", minimum=1, maximum=5) for name, label in QUALITATIVE.items()),
    Field("qualitative_note", "Om de kvalitative gevinster", max_length=5_000),
)
BENEFIT_REFUSALS = {
    "period": "Perioden skal være et år, et kvartal eller en måned, fx 2024, 2024-Q2 eller 2024-05.",
    "minutes_saved_per_case": "Sparede minutter pr. sag skal udfyldes (hverken anvendelsen eller processen har "
    "minutter pr. sag) og må ikke være over baseline.",
    "baseline_minutes": "Baseline må højst have to decimaler.",
    "running_cost_dkk": "Driftsudgift må højst have to decimaler.",
}


def benefit_body(form: dict[str, Any]) -> dict[str, Any]:
    """Form fields → the JSON body of PUT /api/processes/{id}/adoptions/{code}/benefits/{period}: every problem
    at once, in Danish, next to its field."""
    values = parse_form({k: str(v) for k, v in form.items()}, BENEFIT_SPEC)
    return {k: v for k, v in values.items() if v is not None or k == "cases_handled"}
