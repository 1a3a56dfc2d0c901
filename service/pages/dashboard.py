"""The network dashboard: processes by phase, adoptions, realised benefit per year and per month (expected against
realised, the part from runs), missing figures, the adoption matrix and the top processes. Charts are SVG drawn on
the server."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from catalogue.vocab import ADOPTION_STATUSES, DOMAINS, PHASES
from search.documents import SearchQuery
from service.deps import (
    ActorDep,
    AdoptionServiceDep,
    BenefitServiceDep,
    IndexerDep,
    MunicipalityServiceDep,
    RunServiceDep,
)
from service.indexing import viewer_for
from service.pages.benefits import network_benefits
from service.pages.common import page_context

MATRIX_ROWS = 40


class DashboardPages(Controller):
    @get("/dashboard", name="dashboard")
    async def dashboard(
        self,
        adoption_service: AdoptionServiceDep,
        municipality_service: MunicipalityServiceDep,
        indexer: IndexerDep,
        benefit_service: BenefitServiceDep,
        run_service: RunServiceDep,
        actor: ActorDep,
    ) -> Template:
        # Counts by phase and domain come from the search's facets: the same numbers /api/search shows.
        browse = await indexer.search(SearchQuery(filters={"type": "process"}, viewer=viewer_for(actor), limit=1))
        phases = browse.facets.get("phase", {})
        domains = browse.facets.get("domain", {})
        municipalities = await municipality_service.all()
        overview = await adoption_service.overview(actor, matrix_rows=MATRIX_ROWS)
        adopters = overview.adopting_municipalities
        columns = [m for m in municipalities if m.is_member or m.code in adopters]
        matrix = [
            (group[0].process, group[0].process_title, {a.municipality: a for a in group}) for group in overview.matrix
        ]

        return Template(
            template_name="dashboard.html",
            context=page_context(
                actor,
                nav="dashboard",
                total_processes=browse.total,
                phases=[(PHASES[k], float(phases.get(k, 0))) for k in PHASES],
                domains=sorted(((DOMAINS.get(k, k), float(v)) for k, v in domains.items()), key=lambda kv: -kv[1]),
                adoption_count=overview.adoption_count,
                running_count=overview.running_count,
                by_status=[(ADOPTION_STATUSES[k], float(v)) for k, v in overview.by_status.items()],
                expected_hours=overview.expected_hours,
                matrix=matrix,
                columns=columns,
                matrix_total=overview.processes,
                top_expected=overview.top_expected,
                benefits=await network_benefits(benefit_service, actor),
                missing=await run_service.missing(actor),
            ),
        )
