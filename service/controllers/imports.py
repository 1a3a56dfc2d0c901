"""Importing processes, adoptions and benefit records from a spreadsheet (XLSX or CSV), with a preview."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery, QueryParameter

from catalogue.imports import MAX_BYTES, Importer, import_sheet, parse_mapping
from catalogue.schemas import ImportKind, ImportReport
from catalogue.services import BenefitService
from codebank.services import BotService
from core.actors import Actor
from core.errors import Invalid
from service.controllers.base import ApiController
from service.deps import ActorDep, DbDep, SettingsDep, requires_token
from service.settings import Settings

Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
MappingParam = Annotated[
    str | None,
    QueryParameter(
        max_length=10_000,
        description='Columns named explicitly: `{"Sagsantal": "cases_per_year"}` or `Sagsantal=cases_per_year;D=title`',
    ),
]


def importer(db: Any, settings: Settings, actor: Actor, kind: ImportKind) -> Importer:
    """The importer with the code bank's bot check (an adoption's bot and version) and the benefit settings."""
    bots = BotService(db, settings.codebank())
    return Importer(
        db, actor, kind, resolve_bot=bots.resolve_adoption_bot, benefits=BenefitService(db, settings.benefits)
    )


async def upload_bytes(form: dict[str, Any]) -> bytes:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid("file: send the spreadsheet as the multipart field 'file'.", field="file")
    return await upload.read()


class ImportController(ApiController):
    path = "/api/imports"
    tags = ["imports"]

    @post(
        "/",
        guards=[requires_token],
        request_max_body_size=2 * MAX_BYTES,  # up to it, the importer's own message; beyond, Litestar's
        summary="Import processes, adoptions or benefit records from an XLSX or CSV file (dry_run=1: preview)",
        description=(
            "All or nothing: with any row in error the answer is 422 with the report and nothing is written. "
            "Formats are recognised by their headers: RPA-banken's own exports, OS2autoproces's Excel export "
            "(processes), or a sheet with Danish or English headers."
        ),
        status_code=200,
    )
    async def import_file(
        self,
        db: DbDep,
        settings: SettingsDep,
        actor: ActorDep,
        data: Upload,
        kind: FromQuery[ImportKind],
        mapping: MappingParam = None,
        dry_run: Annotated[bool, QueryParameter(description="1: only the report; nothing is written")] = False,
    ) -> Response[ImportReport]:
        content = await upload_bytes(data)
        report = await import_sheet(
            importer(db, settings, actor, kind), content, dry_run=dry_run, mapping=parse_mapping(mapping)
        )
        return Response(report, status_code=422 if report.summary.error and not dry_run else 200)
