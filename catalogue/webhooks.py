"""Outbound webhooks for integrations: an admin (for the network or a municipality) or an editor (for its own
municipality) subscribes a URL to events; each delivery is signed with HMAC-SHA256 of the webhook's secret,
retried with backoff through the jobs table, and logged. Addresses on loopback, private, link-local or reserved
ranges are refused (at creation and again at each delivery) unless RPABANK_WEBHOOK_ALLOW_PRIVATE=1.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import socket

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Webhook, WebhookAttempt
from catalogue.schemas import WebhookCreate, WebhookDeliveryRead, WebhookRead
from catalogue.services import MunicipalityService
from core.actors import Actor
from core.db import utcnow
from core.errors import Forbidden, Invalid, NotFound
from core.reads import read_from
from core.urls import split_url

SIGNATURE_HEADER = "X-RPAbank-Signature"  # "sha256=<hex HMAC-SHA256 of the body with the secret>"
EVENT_HEADER = "X-RPAbank-Event"
DELIVERY_LOG = 100


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def check_address(url: str, allow_private: bool) -> None:
    """Refuse a URL whose host is (or resolves to) a loopback, private, link-local or reserved address."""
    parts = split_url(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("url: give an http(s) address.", field="url")
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):  # unknown; a label IDNA cannot encode; a port out of range
        raise Invalid(f"url: the host {parts.hostname!r} cannot be resolved.", field="url") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global or address.is_multicast:
            raise Invalid(
                f"url: {parts.hostname} is a loopback, private or reserved address ({address}); webhooks go to "
                "public addresses only.",
                field="url",
            )


def webhook_read(w: Webhook) -> WebhookRead:
    return read_from(WebhookRead, w, events=list(w.events), municipality=w.municipality_code)


def delivery_read(a: WebhookAttempt) -> WebhookDeliveryRead:
    return read_from(WebhookDeliveryRead, a, payload=dict(a.payload))


class WebhookService:
    def __init__(self, session: AsyncSession, allow_private: bool = False) -> None:
        self.session = session
        self.allow_private = allow_private

    def _may_see(self, actor: Actor, hook: Webhook) -> bool:
        return actor.is_admin or (actor.role == "editor" and hook.municipality_code == actor.municipality)

    async def create(self, actor: Actor, data: WebhookCreate) -> WebhookRead:
        actor.require_writer()
        code = data.municipality if actor.is_admin else (data.municipality or actor.municipality)
        if not actor.is_admin:
            if not code:
                raise Forbidden("An editor makes webhooks for its own municipality, and this token has none.")
            actor.require_write_for(code, "that webhook")
        if code:
            await MunicipalityService(self.session).get_model(code)
        await check_address(data.url, self.allow_private)
        hook = Webhook(
            url=data.url,
            secret=data.secret,
            events=list(dict.fromkeys(data.events)),
            municipality_code=code,
            created_by=actor.name,
            created_at=utcnow(),
        )
        self.session.add(hook)
        await self.session.flush()
        return webhook_read(hook)

    async def _get(self, actor: Actor, hook_id: int) -> Webhook:
        actor.require_writer()
        hook = await self.session.get(Webhook, hook_id)
        if hook is None or not self._may_see(actor, hook):
            raise NotFound(f"No webhook {hook_id}.", field="id")
        return hook

    async def visible(self, actor: Actor) -> list[WebhookRead]:
        actor.require_writer()
        stmt = select(Webhook).order_by(Webhook.id)
        if not actor.is_admin:
            stmt = stmt.where(Webhook.municipality_code == actor.municipality)
        return [webhook_read(w) for w in (await self.session.scalars(stmt)).all()]

    async def delete(self, actor: Actor, hook_id: int) -> None:
        await self.session.delete(await self._get(actor, hook_id))
        await self.session.flush()

    async def deliveries(self, actor: Actor, hook_id: int) -> list[WebhookDeliveryRead]:
        """The delivery log, newest first."""
        await self._get(actor, hook_id)
        rows = (
            await self.session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.webhook_id == hook_id)
                .order_by(WebhookAttempt.id.desc())
                .limit(DELIVERY_LOG)
            )
        ).all()
        return [delivery_read(a) for a in rows]
