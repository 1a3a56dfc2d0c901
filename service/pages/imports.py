"""The page "Importér": upload a spreadsheet, see the preview with the errors at their cells, then import.

Works without JavaScript: the upload is kept in the data folder under a random name while the person looks at the
preview, and "Importér n rækker" sends only that name back. Both steps run the same import as POST /api/imports.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from catalogue.imports import KINDS, MAX_BYTES, import_sheet, parse_mapping
from catalogue.schemas import ImportKind, ImportReport
from core.actors import Actor
from core.errors import DomainError
from service.controllers.imports import importer
from service.deps import ActorDep, DbDep, SettingsDep
from service.pages.common import Form, page, require_signed_in
from service.settings import Settings
from service.statuses import domain_status

Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
KIND_LABELS = {"processes": "Processer", "adoptions": "Anvendelser", "benefits": "Gevinster (registreringer)"}
ACTION_LABELS = {"create": "Oprettes", "update": "Ændres", "unchanged": "Uændret", "error": "Fejl"}
FORMAT_LABELS = {
    "rpabank": "RPA-bankens eget udtræk",
    "os2autoproces": "OS2autoproces-udtræk",
    "generic": "Regneark med egne overskrifter",
}
PREVIEW_ROWS = 1_000  # rows shown in the table; the summary counts them all
KEEP_SECONDS = 24 * 3600
UPLOAD_NAME = re.compile(r"^[A-Za-z0-9_-]{20,40}$")


def _owner(actor: Actor) -> str:
    return f"user:{actor.user_id}" if actor.user_id is not None else f"name:{actor.name}"


def _folder(settings: Settings) -> Path:
    folder = settings.data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep_upload(settings: Settings, actor: Actor, content: bytes) -> str:
    """Keep an upload for the second step; uploads older than a day are removed."""
    folder = _folder(settings)
    for old in folder.glob("*.upload"):
        if old.stat().st_mtime < time.time() - KEEP_SECONDS:
            old.unlink(missing_ok=True)
            old.with_suffix(".json").unlink(missing_ok=True)
    name = secrets.token_urlsafe(18)
    (folder / f"{name}.upload").write_bytes(content)
    (folder / f"{name}.json").write_text(json.dumps({"owner": _owner(actor)}))
    return name


def kept_upload(settings: Settings, actor: Actor, name: str) -> bytes | None:
    """The upload of this person by that name, if it is still there."""
    if not UPLOAD_NAME.match(name):
        return None
    folder = _folder(settings)
    try:
        meta = json.loads((folder / f"{name}.json").read_text())
        if meta.get("owner") != _owner(actor):
            return None
        return (folder / f"{name}.upload").read_bytes()
    except (OSError, ValueError):
        return None


def drop_upload(settings: Settings, name: str) -> None:
    folder = _folder(settings)
    (folder / f"{name}.upload").unlink(missing_ok=True)
    (folder / f"{name}.json").unlink(missing_ok=True)


def preview_table(report: ImportReport) -> list[dict[str, Any]]:
    """The rows to show, those in error first, each cell with the messages about it."""
    letters = [c.column for c in report.columns]
    ordered = sorted(report.rows, key=lambda r: (r.action != "error", r.row))[:PREVIEW_ROWS]
    table = []
    for r in ordered:
        by_column: dict[str, list[str]] = {}
        other: list[str] = []
        for e in r.errors:
            if e.column in letters:
                by_column.setdefault(e.column or "", []).append(e.message)
            else:
                other.append(f"{e.column}: {e.message}" if e.column else e.message)
        cells = [(letter, r.cells.get(letter, ""), by_column.get(letter, [])) for letter in letters]
        table.append({"row": r.row, "action": r.action, "id": r.id, "cells": cells, "other": other})
    return table


def _kind(value: Any) -> ImportKind:
    return value if value in KINDS else "processes"


def _values(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the form keeps when it is shown again: the kind of import and the column mapping."""
    return {"kind": _kind(data.get("kind")), "mapping": str(data.get("mapping") or "")}


class ImportPages(Controller):
    path = "/import"

    def _page(self, actor: Actor, *, status: int = 200, **values: Any) -> Template:
        context: dict[str, Any] = {"errors": {}, "values": {"kind": "processes", "mapping": ""}, "report": None}
        context.update(values)
        if context["report"] is not None:
            context["table"] = preview_table(context["report"])
        return page(
            "import.html",
            actor,
            status=status,
            nav="import",
            kinds=KIND_LABELS,
            action_labels=ACTION_LABELS,
            format_labels=FORMAT_LABELS,
            preview_rows=PREVIEW_ROWS,
            **context,
        )

    def _refused(self, actor: Actor) -> Template | Redirect | None:
        """Where a person who may not import goes instead: signing in, or the page saying who may."""
        if (redirect := require_signed_in(actor, "/import")) is not None:
            return redirect
        if actor.can_write:
            return None
        message = "Kun redaktører og administratorer kan importere. Spørg en administrator, hvis du skal have adgang."
        return self._page(actor, status=403, errors={"": message})

    @get("/", name="import")
    async def form(self, actor: ActorDep) -> Template | Redirect:
        return self._refused(actor) or self._page(actor)

    @post("/", status_code=200, request_max_body_size=2 * MAX_BYTES)
    async def preview(self, actor: ActorDep, db: DbDep, settings: SettingsDep, data: Multipart) -> Template | Redirect:
        if (refused := self._refused(actor)) is not None:
            return refused
        values = _values(data)
        upload = data.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return self._page(actor, status=422, values=values, errors={"file": "Vælg et regneark (.xlsx eller .csv)."})
        content = await upload.read()
        report = await self._run(actor, db, settings, values, content, dry_run=True)
        if not isinstance(report, ImportReport):
            return report
        name = keep_upload(settings, actor, content) if not report.summary.error else None
        return self._page(actor, values=values, report=report, upload=name, filename=upload.filename)

    async def _run(
        self, actor: Any, db: Any, settings: Any, values: dict[str, Any], content: bytes, *, dry_run: bool
    ) -> ImportReport | Template:
        """The import (a preview or for real), or the page with the file's problem next to the file field."""
        try:
            return await import_sheet(
                importer(db, settings, actor, values["kind"]),
                content,
                dry_run=dry_run,
                mapping=parse_mapping(values["mapping"]),
                keep_cells=True,
            )
        except DomainError as exc:
            return self._page(actor, status=domain_status(exc)[0], values=values, errors={"file": exc.message})

    @post("/apply", status_code=200)
    async def apply(self, actor: ActorDep, db: DbDep, settings: SettingsDep, data: Form) -> Template | Redirect:
        if (refused := self._refused(actor)) is not None:
            return refused
        values = _values(data)
        name = data.get("upload") or ""
        content = kept_upload(settings, actor, name)
        if content is None:
            message = "Regnearket er ikke gemt længere (eller ikke dit). Vælg det igen."
            return self._page(actor, status=422, values=values, errors={"file": message})
        report = await self._run(actor, db, settings, values, content, dry_run=False)
        if not isinstance(report, ImportReport):
            return report
        if report.summary.error:  # nothing was written: show where and why
            return self._page(actor, status=422, values=values, report=report, upload=None)
        drop_upload(settings, name)
        return self._page(actor, values=values, report=report, done=True)
