"""Municipality pages: the network's members, and per municipality what it runs, what it owns and its benefits."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, PathParameter
from litestar.response import Template

from catalogue.services import ProcessFilters
from core.errors import NotFound
from service.deps import (
    ActorDep,
    AdoptionServiceDep,
    BenefitServiceDep,
    DbDep,
    FollowServiceDep,
    MunicipalityServiceDep,
    ProcessServiceDep,
)
from service.pages.benefits import benefits_for_municipality
from service.pages.common import page_context

Code = Annotated[str, PathParameter(max_length=10)]


class MunicipalityPages(Controller):
    include_in_schema = False

    @get("/municipalities", name="municipalities")
    async def municipalities(self, municipality_service: MunicipalityServiceDep, actor: ActorDep) -> Template:
        municipalities = await municipality_service.all()
        return Template(
            template_name="municipalities.html",
            context=page_context(actor, nav="municipalities", municipalities=municipalities),
        )

    @get("/municipalities/{code:str}", name="municipality")
    async def municipality(
        self,
        process_service: ProcessServiceDep,
        adoption_service: AdoptionServiceDep,
        municipality_service: MunicipalityServiceDep,
        benefit_service: BenefitServiceDep,
        follow_service: FollowServiceDep,
        db: DbDep,
        actor: ActorDep,
        code: FromPath[Code],
    ) -> Template:
        if not (len(code) == 3 and code.isdigit()):
            raise NotFound(f"No municipality with code {code!r}.")
        municipality = await municipality_service.get(code)
        adoptions = await adoption_service.for_municipality(actor, code)
        _, related = await process_service.find(actor, ProcessFilters(municipality=code), limit=500)
        own = [p for p in related if p.owner_municipality == code]
        running = [a for a in adoptions if a.status == "operation"]
        benefits = await benefits_for_municipality(benefit_service, actor, code)
        return Template(
            template_name="municipality.html",
            context=page_context(
                actor,
                nav="municipalities",
                municipality=municipality,
                adoptions=adoptions,
                own=own,
                running=running,
                expected_hours=sum(a.expected_hours_per_year or 0 for a in running),
                benefits=benefits,
                follow={
                    "kind": "municipality",
                    "id": code,
                    "on": await follow_service.following(actor, "municipality", code),
                },
                can_follow=actor.user_id is not None,
            ),
        )
