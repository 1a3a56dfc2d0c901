"""Follow, notify, comment and attach: follows, notifications (and their Atom feed), comments on processes and
bots, documents of processes, and outbound webhooks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote
from xml.etree import ElementTree

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, PathParameter

from catalogue.documents import MAX_BYTES
from catalogue.notify import KIND_LABELS
from catalogue.schemas import (
    CommentCreate,
    CommentRead,
    CommentUpdate,
    DocumentRead,
    FeedCreated,
    FollowKind,
    FollowRead,
    NotificationList,
    NotificationPrefs,
    NotificationPrefsWrite,
    NotificationsMarkRead,
    WebhookCreate,
    WebhookDeliveryRead,
    WebhookRead,
)
from core.errors import NotFound
from service.controllers.base import ApiController
from service.controllers.params import PROCESS, IdPath, ProcessDep, ProcessIdPath
from service.deps import (
    ActorDep,
    CommentServiceDep,
    DocumentServiceDep,
    FollowServiceDep,
    NotificationServiceDep,
    SettingsDep,
    WebhookServiceDep,
    requires_token,
)

TargetId = Annotated[str, PathParameter(max_length=140, description="process id, bot slug or municipality code")]
BotSlug = Annotated[str, PathParameter(max_length=100, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
UPLOAD_LIMIT = MAX_BYTES + 1024 * 1024  # the form around the file; a larger file is refused with our own message


class FollowController(Controller):
    path = "/api/follows"
    tags = ["follow"]
    guards = [requires_token]

    @get("/", summary="What the caller follows (an editor also its municipality's own adoptions, `automatic`)")
    async def list_follows(self, follow_service: FollowServiceDep, actor: ActorDep) -> list[FollowRead]:
        return await follow_service.mine(actor)

    @put("/{kind:str}/{target:str}", status_code=200, summary="Follow a process, a bot or a municipality")
    async def follow(
        self,
        follow_service: FollowServiceDep,
        actor: ActorDep,
        kind: FromPath[FollowKind],
        target: FromPath[TargetId],
    ) -> FollowRead:
        return await follow_service.follow(actor, kind, target)

    @delete("/{kind:str}/{target:str}", status_code=204, summary="Stop following")
    async def unfollow(
        self,
        follow_service: FollowServiceDep,
        actor: ActorDep,
        kind: FromPath[FollowKind],
        target: FromPath[TargetId],
    ) -> None:
        await follow_service.unfollow(actor, kind, target)


class NotificationController(Controller):
    path = "/api/notifications"
    tags = ["follow"]
    guards = [requires_token]

    @get("/", summary="The caller's notifications, newest first, and how many are unread")
    async def notifications(self, notification_service: NotificationServiceDep, actor: ActorDep) -> NotificationList:
        return await notification_service.latest(actor)

    @post("/read", status_code=200, summary='Mark notifications read: `{"ids": [...]}`, or all without ids')
    async def mark_read(
        self,
        notification_service: NotificationServiceDep,
        actor: ActorDep,
        data: JSONBody[NotificationsMarkRead | None] = None,
    ) -> NotificationList:
        return await notification_service.mark_read(actor, data.ids if data else None)

    @get("/settings", summary="How the caller gets e-mail: off, immediate or daily")
    async def preferences(self, notification_service: NotificationServiceDep, actor: ActorDep) -> NotificationPrefs:
        return await notification_service.preferences(actor)

    @put("/settings", status_code=200, summary="Choose e-mail: off, immediate or a daily digest")
    async def set_preferences(
        self, notification_service: NotificationServiceDep, actor: ActorDep, data: JSONBody[NotificationPrefsWrite]
    ) -> NotificationPrefs:
        return await notification_service.set_preferences(actor, data.email)

    @post("/feed", summary="A new secret address of the caller's Atom feed (shown once; the old one stops)")
    async def new_feed(self, notification_service: NotificationServiceDep, actor: ActorDep) -> FeedCreated:
        token = await notification_service.new_feed_token(actor)
        return FeedCreated(url=f"/feeds/{token}.atom")


class FeedController(Controller):
    path = "/feeds"
    tags = ["follow"]

    @get("/{name:str}", summary="A person's notifications as an Atom feed (the address is the secret)")
    async def feed(
        self,
        notification_service: NotificationServiceDep,
        settings: SettingsDep,
        name: FromPath[Annotated[str, PathParameter(max_length=100)]],
    ) -> Response[bytes]:
        if not name.endswith(".atom"):
            raise NotFound("No such feed.")
        user, items = await notification_service.feed(name.removesuffix(".atom"))
        base = (settings.base_url or "").rstrip("/")
        atom = "http://www.w3.org/2005/Atom"
        ElementTree.register_namespace("", atom)
        root = ElementTree.Element(f"{{{atom}}}feed")

        def sub(parent: ElementTree.Element, tag: str, text: str | None = None, **attrs: str) -> ElementTree.Element:
            el = ElementTree.SubElement(parent, f"{{{atom}}}{tag}", attrs)
            el.text = text
            return el

        sub(root, "title", f"RPA-banken: {user.name}")
        sub(root, "id", f"urn:rpabanken:feed:{user.id}")
        sub(root, "updated", (items[0].created_at if items else user.created_at).isoformat())
        sub(root, "link", href=f"{base}/notifications")
        for n in items:
            entry = sub(root, "entry")
            sub(entry, "title", n.title)
            sub(entry, "id", f"urn:rpabanken:notification:{n.id}")
            sub(entry, "updated", n.created_at.isoformat())
            sub(entry, "link", href=f"{base}{n.url}")
            sub(entry, "category", term=n.kind, label=KIND_LABELS.get(n.kind, n.kind))
            sub(entry, "summary", KIND_LABELS.get(n.kind, n.kind))
        body = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
        return Response(body, media_type="application/atom+xml; charset=utf-8")


class CommentController(ApiController):
    path = "/api"
    tags = ["comments"]

    @get("/processes/{process_id:str}/comments", summary="Comments on a process, oldest first, with answers")
    async def process_comments(
        self, comment_service: CommentServiceDep, actor: ActorDep, process_id: ProcessIdPath
    ) -> list[CommentRead]:
        return await comment_service.for_target(actor, "process", process_id)

    @post("/processes/{process_id:str}/comments", summary="Comment on a process")
    async def comment_process(
        self,
        comment_service: CommentServiceDep,
        actor: ActorDep,
        process_id: ProcessIdPath,
        data: JSONBody[CommentCreate],
    ) -> CommentRead:
        return await comment_service.create(actor, "process", process_id, data)

    @get("/bots/{slug:str}/comments", summary="Comments on a bot, oldest first, with answers")
    async def bot_comments(
        self, comment_service: CommentServiceDep, actor: ActorDep, slug: FromPath[BotSlug]
    ) -> list[CommentRead]:
        return await comment_service.for_target(actor, "bot", slug)

    @post("/bots/{slug:str}/comments", summary="Comment on a bot")
    async def comment_bot(
        self,
        comment_service: CommentServiceDep,
        actor: ActorDep,
        slug: FromPath[BotSlug],
        data: JSONBody[CommentCreate],
    ) -> CommentRead:
        return await comment_service.create(actor, "bot", slug, data)

    @patch("/comments/{comment_id:int}", summary="Change a comment (its author or an admin)")
    async def update_comment(
        self, comment_service: CommentServiceDep, actor: ActorDep, comment_id: IdPath, data: JSONBody[CommentUpdate]
    ) -> CommentRead:
        return await comment_service.update(actor, comment_id, data)

    @delete("/comments/{comment_id:int}", status_code=204, summary="Remove a comment and answers")
    async def delete_comment(self, comment_service: CommentServiceDep, actor: ActorDep, comment_id: IdPath) -> None:
        await comment_service.delete(actor, comment_id)


@dataclass
class DocumentUpload:
    file: UploadFile
    kind: str = "other"
    title: str = ""
    visibility: str = "network"


class DocumentController(ApiController):
    path = "/api"
    tags = ["documents"]
    dependencies = PROCESS

    @get("/processes/{process_id:str}/documents", summary="A process's documents the caller may see")
    async def process_documents(self, document_service: DocumentServiceDep, process: ProcessDep) -> list[DocumentRead]:
        return await document_service.for_process(*process)

    @post(
        "/processes/{process_id:str}/documents",
        request_max_body_size=UPLOAD_LIMIT,
        summary="Attach a document (multipart: file, kind, title, visibility); at most 20 MB",
    )
    async def upload_document(
        self,
        document_service: DocumentServiceDep,
        process: ProcessDep,
        data: Annotated[DocumentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> DocumentRead:
        content = await data.file.read()
        return await document_service.upload(
            *process,
            filename=data.file.filename or "",
            content=content,
            kind=data.kind,
            title=data.title or (data.file.filename or ""),
            visibility=data.visibility,
        )

    @get("/documents/{document_id:int}", summary="The document itself, as an attachment")
    async def download_document(
        self, document_service: DocumentServiceDep, actor: ActorDep, document_id: IdPath
    ) -> Response[bytes]:
        doc, content = await document_service.download(actor, document_id)
        ascii_name = doc.filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
        headers = {
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(doc.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store" if doc.visibility != "network" else "private, max-age=60",
        }
        return Response(content, media_type=doc.content_type, headers=headers)

    @delete("/documents/{document_id:int}", status_code=204, summary="Remove a document")
    async def delete_document(self, document_service: DocumentServiceDep, actor: ActorDep, document_id: IdPath) -> None:
        await document_service.delete(actor, document_id)


class WebhookController(Controller):
    path = "/api/webhooks"
    tags = ["webhooks"]
    guards = [requires_token]

    @post("/", summary="Subscribe a URL to events (an admin; an editor for its own municipality)")
    async def create_webhook(
        self, webhook_service: WebhookServiceDep, actor: ActorDep, data: JSONBody[WebhookCreate]
    ) -> WebhookRead:
        return await webhook_service.create(actor, data)

    @get("/", summary="The webhooks the caller may manage")
    async def list_webhooks(self, webhook_service: WebhookServiceDep, actor: ActorDep) -> list[WebhookRead]:
        return await webhook_service.visible(actor)

    @delete("/{hook_id:int}", status_code=204, summary="Remove a webhook")
    async def delete_webhook(self, webhook_service: WebhookServiceDep, actor: ActorDep, hook_id: IdPath) -> None:
        await webhook_service.delete(actor, hook_id)

    @get("/{hook_id:int}/deliveries", summary="The delivery log, newest first")
    async def deliveries(
        self, webhook_service: WebhookServiceDep, actor: ActorDep, hook_id: IdPath
    ) -> list[WebhookDeliveryRead]:
        return await webhook_service.deliveries(actor, hook_id)


SOCIAL_CONTROLLERS: list[Any] = [
    FollowController,
    NotificationController,
    FeedController,
    CommentController,
    DocumentController,
    WebhookController,
]
