from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from catalogue.reuse import ProcessCreated
from catalogue.schemas import (
    AdoptionRead,
    AdoptionWrite,
    ProcessCreate,
    ProcessHistory,
    ProcessPage,
    ProcessRead,
    ProcessUpdate,
    TermCount,
)
from catalogue.services import ProcessFilters, etag
from catalogue.vocab import AdoptionStatus, TermKind
from codebank.flows import register_adoption
from service.controllers.base import ApiController
from service.controllers.params import ADOPTION, PROCESS, PROCESS_FILTERS, AdoptionDep, ProcessDep
from service.deps import ActorDep, AdoptionServiceDep, CodebankDep, DbDep, IndexerDep, ProcessServiceDep
from service.indexing import search_process_ids
from service.reuse import similar_processes

IfMatch = Annotated[str | None, HeaderParameter(name="If-Match", required=False)]

_ = AdoptionStatus  # re-exported for the OpenAPI of adoption bodies


def with_etag(process: ProcessRead, status_code: int = 200) -> Response[ProcessRead]:
    return Response(process, status_code=status_code, headers={"ETag": etag(process)})


class ProcessController(ApiController):
    path = "/api/processes"
    tags = ["processes"]
    dependencies = {**PROCESS_FILTERS, **PROCESS, **ADOPTION}

    @get("/", summary="List and filter processes")
    async def list_processes(
        self,
        process_service: ProcessServiceDep,
        indexer: IndexerDep,
        actor: ActorDep,
        filters: NamedDependency[ProcessFilters],
        q: Annotated[str | None, QueryParameter(max_length=10_000)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000_000)] = 0,
    ) -> ProcessPage:
        if q and q.strip():  # ranked by the search, same analysis as /api/search
            total, approximate, ids = await search_process_ids(indexer, actor, filters, q, limit, offset)
            items = await process_service.get_many(actor, ids)
            return ProcessPage(total=total, limit=limit, offset=offset, items=items, total_approximate=approximate)
        total, items = await process_service.find(actor, filters, limit=limit, offset=offset)
        return ProcessPage(total=total, limit=limit, offset=offset, items=items)

    @post(
        "/",
        status_code=201,
        summary="Describe a new process (the answer lists possible_duplicates to warn about)",
    )
    async def create_process(
        self,
        process_service: ProcessServiceDep,
        indexer: IndexerDep,
        db: DbDep,
        actor: ActorDep,
        data: JSONBody[ProcessCreate],
    ) -> Response[ProcessCreated]:
        process = await process_service.create(actor, data)
        duplicates = await similar_processes(indexer, db, actor, process.title, process.summary, exclude=[process.id])
        created = ProcessCreated(**msgspec.structs.asdict(process), possible_duplicates=duplicates)
        return Response(created, status_code=201, headers={"ETag": etag(process)})

    @get("/{process_id:str}", summary="One process (with an ETag)")
    async def get_process(self, process_service: ProcessServiceDep, process: ProcessDep) -> Response[ProcessRead]:
        return with_etag(await process_service.get(*process))

    @patch("/{process_id:str}", summary="Change a process (If-Match: 428 without, 412 stale)")
    async def update_process(
        self,
        process_service: ProcessServiceDep,
        process: ProcessDep,
        data: JSONBody[ProcessUpdate],
        if_match: IfMatch = None,
    ) -> Response[ProcessRead]:
        return with_etag(await process_service.update(*process, data, if_match, if_match_required=True))

    @delete("/{process_id:str}", summary="Delete a process (admin)")
    async def delete_process(self, process_service: ProcessServiceDep, process: ProcessDep) -> None:
        await process_service.delete(*process)

    @get("/{process_id:str}/history", summary="Who changed what, when")
    async def process_history(self, process_service: ProcessServiceDep, process: ProcessDep) -> ProcessHistory:
        return await process_service.history(*process)

    @get("/{process_id:str}/adoptions", summary="The municipalities that run a process")
    async def process_adoptions(self, adoption_service: AdoptionServiceDep, process: ProcessDep) -> list[AdoptionRead]:
        return await adoption_service.for_process(*process)

    @get("/{process_id:str}/adoptions/{code:str}", summary="One municipality's adoption of a process")
    async def get_adoption(self, adoption_service: AdoptionServiceDep, adoption: AdoptionDep) -> AdoptionRead:
        return await adoption_service.get(*adoption)

    @put(
        "/{process_id:str}/adoptions/{code:str}",
        summary="Register or replace a municipality's adoption (201 created, 200 replaced)",
    )
    async def put_adoption(
        self, codebank: CodebankDep, db: DbDep, adoption: AdoptionDep, data: JSONBody[AdoptionWrite]
    ) -> Response[AdoptionRead]:
        read, created = await register_adoption(db, codebank, *adoption, data)
        return Response(read, status_code=201 if created else 200)

    @delete("/{process_id:str}/adoptions/{code:str}", summary="Remove an adoption")
    async def delete_adoption(self, adoption_service: AdoptionServiceDep, adoption: AdoptionDep) -> None:
        await adoption_service.delete(*adoption)


class VocabularyController(ApiController):
    path = "/api/vocabularies"
    tags = ["processes"]

    @get("/{kind:str}", summary="Systems, technologies or tags in use, with counts")
    async def vocabulary(
        self, process_service: ProcessServiceDep, actor: ActorDep, kind: FromPath[TermKind]
    ) -> list[TermCount]:
        return await process_service.term_counts(actor, kind)
