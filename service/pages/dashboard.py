"""The network dashboard: processes by phase, adoptions, realised benefit per year and per month (expected against
realised, the part from runs), missing figures, the adoption matrix and the top processes. Charts are SVG drawn on
the server."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from catalogue.schemas import AdoptionRead
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
    include_in_schema = False

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
        adoptions = await adoption_service.visible(actor)

        by_status = {key: sum(1 for a in adoptions if a.status == key) for key in ADOPTION_STATUSES}
        per_process: dict[str, list[AdoptionRead]] = {}
        for a in adoptions:
            per_process.setdefault(a.process, []).append(a)
        rows = sorted(per_process.values(), key=lambda group: (-len(group), group[0].process_title))[:MATRIX_ROWS]
        columns = [m for m in municipalities if m.is_member or any(a.municipality == m.code for a in adoptions)]
        matrix = [(group[0].process, group[0].process_title, {a.municipality: a for a in group}) for group in rows]

        running = [a for a in adoptions if a.status == "operation"]
        expected_top: dict[str, tuple[str, float]] = {}
        for a in running:
            title, hours = expected_top.get(a.process, (a.process_title, 0.0))
            expected_top[a.process] = (title, hours + (a.expected_hours_per_year or 0))
        top_expected = sorted(((pid, t, h) for pid, (t, h) in expected_top.items()), key=lambda r: -r[2])[:10]

        return Template(
            template_name="dashboard.html",
            context=page_context(
                actor,
                nav="dashboard",
                total_processes=browse.total,
                phases=[(PHASES[k], float(phases.get(k, 0))) for k in PHASES],
                domains=sorted(((DOMAINS.get(k, k), float(v)) for k, v in domains.items()), key=lambda kv: -kv[1]),
                adoption_count=len(adoptions),
                running_count=len(running),
                by_status=[(ADOPTION_STATUSES[k], float(v)) for k, v in by_status.items()],
                expected_hours=sum(a.expected_hours_per_year or 0 for a in running),
                matrix=matrix,
                columns=columns,
                matrix_total=len(per_process),
                top_expected=top_expected,
                benefits=await network_benefits(benefit_service, actor),
                missing=await run_service.missing(actor),
            ),
        )
