"""Code bank API: bots, code principles and the Git host webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from codebank.schemas import (
    BlobRead,
    BotCreate,
    BotJob,
    BotRead,
    BotUpdate,
    HookAccepted,
    JobRead,
    PrincipleRead,
    PrincipleSummary,
    ReadmeRead,
    RefRead,
    TreeRead,
)
from codebank.services import BotFilters, normalise_url
from core.errors import NotFound
from core.jobs import Job
from service.controllers.base import ApiController
from service.controllers.params import BOT_FILTERS, IdPath
from service.deps import ActorDep, BotServiceDep, PrincipleServiceDep, SettingsDep, requires_token
from service.jobs import BOT_JOBS, enqueue_bot_registration, enqueue_bot_sync

Slug = Annotated[str, PathParameter(max_length=100, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
Ref = Annotated[str | None, QueryParameter(max_length=200, description="branch, tag or commit (default: HEAD)")]
RepoPath = Annotated[str, QueryParameter(max_length=4096, description="path inside the repository")]


class BotController(ApiController):
    path = "/api/bots"
    tags = ["code bank"]
    dependencies = BOT_FILTERS

    @get("/", summary="Registered bots (filter by process, technology, system, municipality)")
    async def list_bots(
        self, bot_service: BotServiceDep, actor: ActorDep, bot_filters: NamedDependency[BotFilters]
    ) -> list[BotRead]:
        return await bot_service.find(bot_filters, viewer=actor)

    @post(
        "/",
        status_code=202,
        summary="Register a bot repository (mirrored, never executed): 202, then follow the job",
        description=(
            "Checks the request and reserves the bot (state `registering`) at once; a background job mirrors the "
            "repository. Follow it at the `Location` (GET /api/jobs/{id}) until `done` (the bot is `ready`) or "
            "`failed` (the bot is removed again, and `error` says why)."
        ),
    )
    async def register_bot(
        self, bot_service: BotServiceDep, actor: ActorDep, data: JSONBody[BotCreate]
    ) -> Response[BotJob]:
        bot = await bot_service.reserve(actor, data)
        job = await enqueue_bot_registration(bot_service.session, bot.slug)
        return accepted(await bot_service.read(bot, actor), job)

    @get("/{slug:str}", summary="One bot with its metadata, versions and who runs which")
    async def get_bot(self, bot_service: BotServiceDep, actor: ActorDep, slug: FromPath[Slug]) -> BotRead:
        return await bot_service.get(slug, actor)

    @patch("/{slug:str}", summary="Change the processes a bot is linked to")
    async def update_bot(
        self, bot_service: BotServiceDep, actor: ActorDep, slug: FromPath[Slug], data: JSONBody[BotUpdate]
    ) -> BotRead:
        return await bot_service.update(actor, slug, data)

    @delete("/{slug:str}", summary="Remove a bot and its mirror (admin)")
    async def delete_bot(self, bot_service: BotServiceDep, actor: ActorDep, slug: FromPath[Slug]) -> None:
        await bot_service.delete(actor, slug)

    @post(
        "/{slug:str}/sync",
        status_code=202,
        summary="Fetch the repository now and re-index what changed: 202, then follow the job",
        description="A background job fetches; while a sync of the bot is queued already, that one is answered.",
    )
    async def sync_bot(self, bot_service: BotServiceDep, actor: ActorDep, slug: FromPath[Slug]) -> Response[BotJob]:
        bot = await bot_service.get_model(slug)
        bot_service.require_owner(actor, bot)  # the owner's editors and admins, as for every change of a bot
        job = await enqueue_bot_sync(bot_service.session, slug)
        await bot_service.session.flush()
        return accepted(await bot_service.read(bot, actor), job)

    @get("/{slug:str}/refs", summary="Branches and tags with dates")
    async def bot_refs(self, bot_service: BotServiceDep, slug: FromPath[Slug]) -> list[RefRead]:
        return await bot_service.refs(slug)

    @get("/{slug:str}/tree", summary="A folder of the repository at a ref")
    async def bot_tree(
        self, bot_service: BotServiceDep, slug: FromPath[Slug], ref: Ref = None, path: RepoPath = ""
    ) -> TreeRead:
        return await bot_service.tree(slug, ref, path)

    @get("/{slug:str}/blob", summary="A file: text with language and highlighted HTML, or what it is instead")
    async def bot_blob(
        self, bot_service: BotServiceDep, slug: FromPath[Slug], path: RepoPath, ref: Ref = None
    ) -> BlobRead:
        return await bot_service.blob(slug, ref, path)

    @get("/{slug:str}/readme", summary="The README rendered as safe HTML")
    async def bot_readme(self, bot_service: BotServiceDep, slug: FromPath[Slug], ref: Ref = None) -> ReadmeRead:
        return await bot_service.readme(slug, ref)


class PrincipleController(ApiController):
    path = "/api/principles"
    tags = ["code bank"]

    @get("/", summary="The network's code principles")
    async def list_principles(self, principle_service: PrincipleServiceDep) -> list[PrincipleSummary]:
        return await principle_service.all()

    @get("/{principle_id:str}", summary="One code principle: rendered HTML, source, the bots that follow it")
    async def get_principle(
        self, principle_service: PrincipleServiceDep, principle_id: Annotated[str, PathParameter(max_length=100)]
    ) -> PrincipleRead:
        return await principle_service.get(principle_id)


def verify_signature(secret: str | None, body: bytes, headers: Any) -> str:
    """Which Git host signed this push; NotAuthorized (401) when nobody or the wrong secret did."""
    if not secret:
        raise NotAuthorizedException("Webhooks are not configured here (RPABANK_WEBHOOK_SECRET is unset).")
    signature = headers.get("x-hub-signature-256")
    if signature:
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(signature.strip(), expected):
            return "github"
        raise NotAuthorizedException("The X-Hub-Signature-256 signature does not match.")
    token = headers.get("x-gitlab-token")
    if token is not None:
        if hmac.compare_digest(token.encode(), secret.encode()):
            return "gitlab"
        raise NotAuthorizedException("The X-Gitlab-Token does not match.")
    raise NotAuthorizedException("The push is not signed (X-Hub-Signature-256 or X-Gitlab-Token).")


def repository_urls(payload: Any) -> set[str]:
    """Every repository URL a GitHub, Gitea or GitLab push payload names, normalised."""
    urls: set[str] = set()
    if not isinstance(payload, dict):
        return urls
    for key in ("repository", "project"):
        repo = payload.get(key)
        if isinstance(repo, dict):
            for field in ("clone_url", "ssh_url", "html_url", "git_http_url", "git_ssh_url", "web_url", "url"):
                value = repo.get(field)
                if isinstance(value, str) and value:
                    urls.add(normalise_url(value))
    return urls


DELIVERY_HEADERS = ("x-github-delivery", "x-gitea-delivery", "x-gogs-delivery", "x-gitlab-event-uuid")


def job_read(job: Job) -> JobRead:
    return JobRead(
        id=job.id,
        kind=job.kind,
        bot=str((job.payload or {}).get("slug", "")),
        status=job.status,
        error=job.last_error if job.status == "failed" else None,
        created_at=job.created_at,
        finished_at=job.finished_at,
        url=f"/api/jobs/{job.id}",
    )


def accepted(bot: BotRead, job: Job) -> Response[BotJob]:
    return Response(BotJob(bot=bot, job=job_read(job)), status_code=202, headers={"Location": f"/api/jobs/{job.id}"})


class JobController(ApiController):
    path = "/api/jobs"
    tags = ["code bank"]

    @get("/{job_id:int}", guards=[requires_token], summary="A code bank job: queued, running, done or failed")
    async def get_job(self, bot_service: BotServiceDep, job_id: IdPath) -> JobRead:
        job = await bot_service.session.get(Job, job_id)
        if job is None or job.kind not in BOT_JOBS:
            raise NotFound(f"No code bank job {job_id}.", field="job_id")
        return job_read(job)


def delivery_id(host: str, headers: Any) -> str | None:
    """The Git host's id of this delivery (the same when it is sent again), if it sends one."""
    for name in DELIVERY_HEADERS:
        value = headers.get(name)
        if value and value.strip():
            return f"{host}:{value.strip()[:150]}"
    return None


class HookController(Controller):
    path = "/api/hooks"
    tags = ["code bank"]

    @post(
        "/git",
        status_code=202,
        summary="Push events from a Git host (HMAC-signed): queue a sync of the bots pushed to",
        description=(
            "Answers 202 at once; each bot is synced by a background job that survives the request (the Git host "
            "does not wait for the fetch). A delivery the host sends again (same X-GitHub-Delivery, "
            "X-Gitea-Delivery or X-Gitlab-Event-UUID), or the same delivery sent to two instances, is recognised "
            "and queues nothing."
        ),
    )
    async def git_push(
        self, bot_service: BotServiceDep, settings: SettingsDep, request: Request[Any, Any, Any]
    ) -> HookAccepted:
        body = await request.body()
        host = verify_signature(settings.webhook_secret, body, request.headers)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        delivery = delivery_id(host, request.headers)
        if delivery is not None and not await bot_service.first_delivery(delivery):
            return HookAccepted(queued=[], repeated=True)
        queued = []
        for slug in await bot_service.slugs_for_urls(repository_urls(payload)):
            await enqueue_bot_sync(bot_service.session, slug)
            queued.append(slug)
        return HookAccepted(queued=queued, repeated=False)
