"""Realised benefits from run data: an adoption's saving rule, runs pushed by bots, run files imported with a
preview, and the choice between hand-typed and run figures."""

from __future__ import annotations

import tempfile
from typing import Annotated, Any

from litestar import Request, Response, get, post, put
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from catalogue.schemas import (
    RunChoice,
    RunImportReport,
    RunOverview,
    RunPush,
    RunPushResult,
    RunRuleWrite,
)
from service.controllers.base import ApiController
from service.controllers.params import ADOPTION, AdoptionDep, MunicipalityQuery
from service.deps import ActorDep, RunServiceDep

MAX_RUN_FILE = 500 * 1024 * 1024  # about 5 million generic rows
SPOOL = 8 * 1024 * 1024  # larger uploads go to a temporary file, never whole into memory
MonthPath = FromPath[Annotated[str, PathParameter(pattern=r"^\d{4}-\d{2}$", description="a month, e.g. 2024-05")]]


class AdoptionRunController(ApiController):
    path = "/api/processes/{process_id:str}/adoptions/{code:str}/runs"
    tags = ["runs"]
    dependencies = ADOPTION

    @get("/", summary="The adoption's saving rule and its runs month by month (success rate, conflicts)")
    async def run_overview(self, run_service: RunServiceDep, adoption: AdoptionDep) -> RunOverview:
        return await run_service.overview(*adoption)

    @post(
        "/",
        status_code=200,
        summary="Report runs (idempotent by run id); each month with runs becomes a benefit record",
    )
    async def push_runs(
        self, run_service: RunServiceDep, adoption: AdoptionDep, data: JSONBody[RunPush]
    ) -> RunPushResult:
        return await run_service.push(*adoption, data)

    @put("/rule", summary="Set the saving rule: unit, minutes per unit, run keys")
    async def put_rule(
        self, run_service: RunServiceDep, adoption: AdoptionDep, data: JSONBody[RunRuleWrite]
    ) -> RunOverview:
        return await run_service.put_rule(*adoption, data)

    @put(
        "/months/{month:str}/choice",
        summary="For a month with runs and a record typed by hand: which figures count",
    )
    async def choose(
        self, run_service: RunServiceDep, adoption: AdoptionDep, month: MonthPath, data: JSONBody[RunChoice]
    ) -> RunOverview:
        return await run_service.choose(*adoption, month, data.use)


class RunImportController(ApiController):
    path = "/api/runs"
    tags = ["runs"]

    @post(
        "/import",
        status_code=200,
        request_max_body_size=MAX_RUN_FILE,
        summary="Import a run file (the request body: CSV or JSON) with a preview; all or nothing",
    )
    async def import_runs(
        self,
        request: Request[Any, Any, Any],
        run_service: RunServiceDep,
        actor: ActorDep,
        municipality: MunicipalityQuery = None,
        key: Annotated[
            str | None, QueryParameter(max_length=200, description="the run key of rows that name none")
        ] = None,
        dry_run: Annotated[bool, QueryParameter(description="preview only: write nothing")] = False,
    ) -> Response[RunImportReport]:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL) as body:
            async for chunk in request.stream():
                body.write(chunk)
            body.seek(0)
            report = await run_service.import_file(actor, body, municipality, key, dry_run=dry_run)
        status = 422 if report.summary["error"] and not dry_run else 200
        return Response(report, status_code=status)
