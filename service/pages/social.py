"""Pages for following, notifications, comments and documents: the "Følg" button, the comment thread and form,
the documents list and upload form on the process, bot and municipality pages, and "Notifikationer".

The forms go through the same services as the API; a refused form comes back with a Danish message next to its
field (status 422)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, PathParameter
from litestar.response import Redirect, Template

from catalogue.comments import CommentService
from catalogue.documents import DOCUMENT_KINDS, DocumentService
from catalogue.follows import FollowService, NotificationService
from catalogue.notify import KIND_LABELS
from catalogue.schemas import CommentCreate
from core.actors import Actor
from core.errors import DomainError, Forbidden, Invalid, NotFound, TooLarge, UnsupportedMedia
from service.controllers.social import UPLOAD_LIMIT
from service.deps import (
    ActorDep,
    CommentServiceDep,
    DbDep,
    DocumentServiceDep,
    FollowServiceDep,
    NotificationServiceDep,
)
from service.pages.common import Form, FormErrors, form_to_struct, page, require_signed_in, safe_next

TargetParam = FromPath[Annotated[str, PathParameter(max_length=140)]]
KIND_PAGES = {"process": "/processes/{}", "bot": "/bots/{}", "municipality": "/municipalities/{}"}
EMAIL_LABELS = {"immediate": "Med det samme", "daily": "Én samlet mail om dagen", "off": "Ingen mails"}


@dataclass(frozen=True)
class Social:
    """What a page needs to show following, comments and documents."""

    follows: FollowService
    comments: CommentService
    documents: DocumentService

    async def context(self, actor: Actor, kind: str, target: str) -> dict[str, Any]:
        values: dict[str, Any] = {
            "follow": {"kind": kind, "id": target, "on": await self.follows.following(actor, kind, target)},
            "can_follow": actor.user_id is not None,
            "document_kinds": DOCUMENT_KINDS,
        }
        if kind in ("process", "bot"):
            values["comments"] = await self.comments.for_target(actor, kind, target)
        if kind == "process":
            values["documents"] = await self.documents.for_process(actor, target)
        return values


def provide_social(
    follow_service: FollowServiceDep, comment_service: CommentServiceDep, document_service: DocumentServiceDep
) -> Social:
    return Social(follow_service, comment_service, document_service)


SocialDep = NamedDependency[Social]
SOCIAL_DEPENDENCY = {"social": Provide(provide_social, sync_to_thread=False)}


def comment_problem(actor: Actor, exc: DomainError) -> str:
    """A refused comment, in Danish."""
    if not actor.is_authenticated:
        return "Log ind for at kommentere."
    if actor.user_id is None:
        return "Kommentarer skrives af personer: log ind med din kommunes login eller en personlig nøgle."
    if exc.field == "parent":
        return "Svar går kun ét niveau ned: svar på den første kommentar."
    if isinstance(exc, Forbidden):
        return "Kun forfatteren eller en administrator må ændre kommentaren."
    return "Kommentaren kunne ikke gemmes: skriv mellem 1 og 10.000 tegn."


def upload_problem(actor: Actor, exc: DomainError) -> tuple[str, str]:
    """(form field, Danish message) of a refused upload."""
    if isinstance(exc, TooLarge):
        return "file", "Filen er for stor: et dokument må højst fylde 20 MB."
    if isinstance(exc, UnsupportedMedia):
        return "file", (
            "Filtypen kan ikke bruges. Upload PDF, Word (DOCX), Excel (XLSX), PowerPoint (PPTX), Markdown, "
            "ren tekst eller billeder (PNG, JPEG, GIF, WebP) – filens indhold afgør det, ikke navnet."
        )
    if isinstance(exc, Forbidden) or not actor.can_write:
        return "", "Kun redaktører og administratorer kan uploade dokumenter."
    if exc.field == "title":
        return "title", "Giv dokumentet en titel (højst 200 tegn)."
    if exc.field == "kind":
        return "kind", "Vælg hvilken slags dokument det er."
    if exc.field == "file":
        return "file", "Vælg en fil – den er tom."
    return "", "Dokumentet kunne ikke gemmes."


async def notifications_page(service: NotificationService, actor: Actor, feed_url: str | None = None) -> Template:
    """The notifications page: the list, the e-mail choice and the feed (`feed_url`: a new address, shown once)."""
    if actor.user_id is None:
        return page("notifications.html", actor, nav="notifications", person=False)
    return page(
        "notifications.html",
        actor,
        nav="notifications",
        person=True,
        notes=await service.latest(actor),
        prefs=await service.preferences(actor),
        kind_labels=KIND_LABELS,
        email_labels=EMAIL_LABELS,
        feed_url=feed_url,
    )


@dataclass
class UploadForm:
    file: UploadFile | None = None
    kind: str = "other"
    title: str = ""
    visibility: str = "network"
    _csrf_token: str = ""


class SocialPages(Controller):
    dependencies = SOCIAL_DEPENDENCY

    @post("/follow", status_code=303)
    async def follow(self, follow_service: FollowServiceDep, actor: ActorDep, data: Form) -> Redirect:
        kind, target = data.get("kind", ""), data.get("id", "")
        back = safe_next(data.get("next") or KIND_PAGES.get(kind, "/{}").format(target))
        signed_out = require_signed_in(actor, back)
        if signed_out is not None:
            return signed_out
        if data.get("action") == "unfollow":
            await follow_service.unfollow(actor, kind, target)
        else:
            await follow_service.follow(actor, kind, target)
        return Redirect(path=back, status_code=303)

    @post("/comments/{kind:str}/{target:str}", status_code=303)
    async def comment(
        self,
        comment_service: CommentServiceDep,
        db: DbDep,
        actor: ActorDep,
        kind: FromPath[str],
        target: TargetParam,
        data: Form,
    ) -> Template | Redirect:
        if kind not in ("process", "bot"):
            raise NotFound("No such page.")
        here = KIND_PAGES[kind].format(target)
        signed_out = require_signed_in(actor, here)
        if signed_out is not None:
            return signed_out
        target_info = await comment_service.target(actor, kind, target)  # 404 when hidden
        values = {"body": data.get("body", ""), **({"parent": data["parent"]} if data.get("parent") else {})}
        try:
            body = form_to_struct(values, CommentCreate)
            comment = await comment_service.create(actor, kind, target, body)
        except (FormErrors, DomainError) as exc:
            await db.rollback()
            error = comment_problem(actor, exc if isinstance(exc, DomainError) else Invalid(""))
            return page("comment_form.html", actor, status=422, target=target_info, form=values, errors={"body": error})
        return Redirect(path=f"{here}#kommentar-{comment.id}", status_code=303)

    @post(
        "/processes/{process_id:str}/documents",
        status_code=303,
        request_max_body_size=UPLOAD_LIMIT,
    )
    async def upload(
        self,
        document_service: DocumentServiceDep,
        comment_service: CommentServiceDep,
        db: DbDep,
        actor: ActorDep,
        process_id: TargetParam,
        data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template | Redirect:
        here = f"/processes/{process_id}"
        signed_out = require_signed_in(actor, here)
        if signed_out is not None:
            return signed_out
        target = await comment_service.target(actor, "process", process_id)  # 404 when hidden
        form = {"kind": data.kind, "title": data.title, "visibility": data.visibility}
        try:
            content = await data.file.read() if data.file else b""
            await document_service.upload(
                actor,
                process_id,
                filename=(data.file.filename if data.file else "") or "",
                content=content,
                kind=data.kind,
                title=data.title,
                visibility=data.visibility,
            )
        except DomainError as exc:
            await db.rollback()
            field, message = upload_problem(actor, exc)
            status = 413 if isinstance(exc, TooLarge) else 415 if isinstance(exc, UnsupportedMedia) else 422
            return page(
                "document_form.html",
                actor,
                status=status,
                target=target,
                form=form,
                errors={field: message},
                document_kinds=DOCUMENT_KINDS,
            )
        return Redirect(path=f"{here}?gemt=dokument#dokumenter", status_code=303)

    @get("/notifications", name="notifications")
    async def notifications(self, notification_service: NotificationServiceDep, actor: ActorDep) -> Template | Redirect:
        signed_out = require_signed_in(actor, "/notifications")
        if signed_out is not None:
            return signed_out
        return await notifications_page(notification_service, actor)

    @post("/notifications/read", status_code=303)
    async def mark_read(self, notification_service: NotificationServiceDep, actor: ActorDep, data: Form) -> Redirect:
        signed_out = require_signed_in(actor, "/notifications")
        if signed_out is not None:
            return signed_out
        one = data.get("id", "")
        await notification_service.mark_read(actor, [int(one)] if one.isdigit() else None)
        target = data.get("next") if one.isdigit() else None
        return Redirect(path=safe_next(target or "/notifications"), status_code=303)

    @post("/notifications/settings", status_code=303)
    async def settings(
        self, notification_service: NotificationServiceDep, actor: ActorDep, data: Form
    ) -> Template | Redirect:
        signed_out = require_signed_in(actor, "/notifications")
        if signed_out is not None:
            return signed_out
        if data.get("action") == "feed":
            token = await notification_service.new_feed_token(actor)
            return await notifications_page(notification_service, actor, f"/feeds/{token}.atom")
        await notification_service.set_preferences(actor, data.get("email", ""))
        return Redirect(path="/notifications?gemt=1", status_code=303)
