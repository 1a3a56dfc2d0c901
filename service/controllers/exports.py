"""Downloads for people and programs: the catalogue as CSV and Excel, the benefits as Excel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Annotated

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import TooManyRequestsException
from litestar.params import FromQuery, QueryParameter

from catalogue.exports import XLSX, benefits_xlsx, processes_csv, processes_xlsx
from catalogue.schemas import BenefitFilters, ProcessRead
from catalogue.services import ProcessFilters
from catalogue.vocab import Domain
from service.controllers.processes import PROCESS_FILTERS
from service.deps import ActorDep, BenefitServiceDep, ExportServiceDep, IndexerDep, ProcessServiceDep
from service.indexing import search_process_ids

ALL = 1_000_000
Text = Annotated[str | None, QueryParameter(max_length=10_000)]
Matching = NamedDependency[list[ProcessRead]]


def download(content: bytes, filename: str, media_type: str) -> Response[bytes]:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


async def provide_export_slot(state: State) -> AsyncGenerator[None, None]:
    """One of the instance's export slots (RPABANK_EXPORT_CONCURRENCY), held while the export is made: beyond
    them an export answers 429 with Retry-After at once instead of slowing every other request down."""
    slots: asyncio.Semaphore = state.export_slots
    if slots.locked():
        raise TooManyRequestsException(
            "Other exports are being made right now; please retry in a moment.", headers={"Retry-After": "10"}
        )
    async with slots:
        yield


ExportSlot = NamedDependency[None]


async def provide_matching_processes(
    export_slot: ExportSlot,
    indexer: IndexerDep,
    process_service: ProcessServiceDep,
    actor: ActorDep,
    filters: NamedDependency[ProcessFilters],
    q: Text = None,
) -> list[ProcessRead]:
    """Every process the list filters (and `q`, through the search) select, as GET /api/processes would."""
    if q and q.strip():
        _, _, ids = await search_process_ids(indexer, actor, filters, q, 10_000, 0)
        return await process_service.get_many(actor, ids)
    _, items = await process_service.find(actor, filters, limit=ALL)
    return items


class ExportController(Controller):
    path = "/api/export"
    tags = ["exports"]
    dependencies = {
        **PROCESS_FILTERS,
        "export_slot": Provide(provide_export_slot),
        "matching": Provide(provide_matching_processes),
    }

    @get("/processes.csv", summary="The processes as CSV (same filters as the process list)")
    async def processes_csv(self, export_service: ExportServiceDep, matching: Matching) -> Response[bytes]:
        content = await asyncio.to_thread(processes_csv, matching, await export_service.names())
        return download(content, "processer.csv", "text/csv")  # Litestar adds "; charset=utf-8"

    @get("/processes.xlsx", summary="The processes and who runs them as an Excel workbook")
    async def processes_xlsx(
        self, export_service: ExportServiceDep, actor: ActorDep, matching: Matching
    ) -> Response[bytes]:
        adoptions = await export_service.adoptions_of(actor, [p.id for p in matching])
        names = await export_service.names()
        # building a workbook of many rows is CPU work: off the event loop, so other requests go on meanwhile
        content = await asyncio.to_thread(processes_xlsx, matching, adoptions, names)
        return download(content, "processer.xlsx", XLSX)

    @get("/benefits.xlsx", summary="Expected and realised benefits as an Excel workbook, a sheet per grouping")
    async def benefits_xlsx(
        self,
        export_slot: ExportSlot,
        benefit_service: BenefitServiceDep,
        actor: ActorDep,
        process: Annotated[str | None, QueryParameter(max_length=140)] = None,
        municipality: Annotated[str | None, QueryParameter(pattern=r"^\d{3}$")] = None,
        domain: FromQuery[Domain | None] = None,
        from_: Annotated[str | None, QueryParameter(name="from", max_length=20)] = None,
        to: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> Response[bytes]:
        filters = BenefitFilters(process=process, municipality=municipality, domain=domain, first=from_, last=to)
        summaries, records = await benefit_service.report(actor, filters)
        return download(await asyncio.to_thread(benefits_xlsx, summaries, records), "gevinster.xlsx", XLSX)
