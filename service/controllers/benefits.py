"""Realised benefits per adoption and period, the network's figures, the missing figures, and reuse (copies,
likely duplicates)."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from catalogue.formulas import GroupBy
from catalogue.reuse import ProcessCopy, SimilarProcesses
from catalogue.schemas import BenefitFilters, BenefitRead, BenefitSummary, BenefitWrite, MissingFigures, ProcessRead
from catalogue.services import etag
from service.controllers.base import ApiController
from service.controllers.params import (
    ADOPTION,
    BENEFIT_FILTERS,
    AdoptionDep,
    MunicipalityQuery,
    ProcessIdPath,
    ProcessQuery,
)
from service.deps import ActorDep, BenefitServiceDep, DbDep, IndexerDep, ReuseServiceDep, RunServiceDep
from service.reuse import similar_processes

PeriodParam = Annotated[str, PathParameter(max_length=20, description="2024, 2024-Q2 or 2024-05")]
PeriodPath = FromPath[PeriodParam]


class AdoptionBenefitController(ApiController):
    path = "/api/processes/{process_id:str}/adoptions/{code:str}/benefits"
    tags = ["benefits"]
    dependencies = ADOPTION

    @get("/", summary="The benefits a municipality has reported for a process, period by period")
    async def list_benefits(self, benefit_service: BenefitServiceDep, adoption: AdoptionDep) -> list[BenefitRead]:
        return await benefit_service.list_for_adoption(*adoption)

    @get("/{period:str}", summary="The benefits of one period")
    async def get_benefit(
        self, benefit_service: BenefitServiceDep, adoption: AdoptionDep, period: PeriodPath
    ) -> BenefitRead:
        return await benefit_service.get(*adoption, period)

    @put(
        "/{period:str}",
        summary="Report or replace the benefits of one period (201 created, 200 replaced)",
    )
    async def put_benefit(
        self,
        benefit_service: BenefitServiceDep,
        adoption: AdoptionDep,
        period: PeriodPath,
        data: JSONBody[BenefitWrite],
    ) -> Response[BenefitRead]:
        record, created = await benefit_service.put(*adoption, period, data)
        return Response(record, status_code=201 if created else 200)

    @delete("/{period:str}", summary="Remove the benefits of one period")
    async def delete_benefit(
        self, benefit_service: BenefitServiceDep, adoption: AdoptionDep, period: PeriodPath
    ) -> None:
        await benefit_service.delete(*adoption, period)


class BenefitController(ApiController):
    path = "/api/benefits"
    tags = ["benefits"]
    dependencies = BENEFIT_FILTERS

    @get("/", summary="Expected against realised benefits of the network, grouped")
    async def benefit_summary(
        self,
        benefit_service: BenefitServiceDep,
        actor: ActorDep,
        benefit_filters: NamedDependency[BenefitFilters],
        group_by: Annotated[
            GroupBy, QueryParameter(description="one row per process, municipality, year or domain")
        ] = "process",
    ) -> BenefitSummary:
        return await benefit_service.summary(actor, group_by, benefit_filters)

    @get("/missing", summary="Adoptions in operation without a benefit record for a completed month")
    async def missing_figures(
        self,
        run_service: RunServiceDep,
        actor: ActorDep,
        municipality: MunicipalityQuery = None,
        process: ProcessQuery = None,
    ) -> list[MissingFigures]:
        return await run_service.missing(actor, municipality, process)


class ReuseController(ApiController):
    path = "/api/processes"
    tags = ["processes"]

    @get("/similar", summary="Likely duplicates of a process about to be described")
    async def similar(
        self,
        indexer: IndexerDep,
        db: DbDep,
        actor: ActorDep,
        title: Annotated[str, QueryParameter(max_length=120, description="the new process's title")] = "",
        summary: Annotated[str, QueryParameter(max_length=280)] = "",
        limit: Annotated[int, QueryParameter(ge=1, le=50)] = 10,
    ) -> SimilarProcesses:
        items = await similar_processes(indexer, db, actor, title, summary, limit=limit)
        return SimilarProcesses(title=title, summary=summary, items=items)

    @post(
        "/{process_id:str}/copy",
        status_code=201,
        summary="Copy a process for your municipality (lineage kept, adoption registered as interested)",
    )
    async def copy_process(
        self,
        reuse_service: ReuseServiceDep,
        actor: ActorDep,
        process_id: ProcessIdPath,
        data: JSONBody[ProcessCopy | None] = None,
    ) -> Response[ProcessRead]:
        copy = await reuse_service.copy(actor, process_id, data)
        return Response(copy, status_code=201, headers={"ETag": etag(copy)})
