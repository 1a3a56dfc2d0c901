"""Realised benefits for the pages, through the same benefits service as /api/benefits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalogue.schemas import BenefitFilters, BenefitRead, BenefitRow
from catalogue.services import BenefitService
from core.actors import Actor
from service.pages.common import QUALITATIVE, form_number

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


def benefit_body(form: dict[str, Any]) -> dict[str, Any]:
    """Form fields → the JSON body of PUT /api/processes/{id}/adoptions/{code}/benefits/{period}."""
    f = {
        k: str(form.get(k) or "").strip()
        for k in (
            "cases_handled",
            "minutes_saved_per_case",
            "baseline_minutes",
            "running_cost_dkk",
            "note",
            *QUALITATIVE,
            "qualitative_note",
        )
    }
    body: dict[str, Any] = {
        "cases_handled": form_number(f["cases_handled"], int) if f["cases_handled"] else None,
        "budget_realised": form.get("budget_realised") in ("on", "true", "1"),
    }
    for name in ("minutes_saved_per_case", "baseline_minutes", "running_cost_dkk"):
        if f[name]:
            body[name] = form_number(f[name], float)
    for name in QUALITATIVE:
        if f[name]:
            body[name] = form_number(f[name], int)
    for name in ("note", "qualitative_note"):
        if f[name]:
            body[name] = f[name]
    return body
