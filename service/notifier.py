"""Sending what catalogue.notify queued: notification e-mails (immediate, or a daily digest) over SMTP, and
signed outbound webhook deliveries. Each runs as a background job (service.jobs): a failure is retried with
backoff by the jobs table and never blocks a request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalogue.follows import NotificationService
from catalogue.models import Notification, NotificationPreference, User, Webhook, WebhookAttempt
from catalogue.notify import DEFAULT_EMAIL, EMAIL_JOB, KIND_LABELS, WEBHOOK_JOB, unsent_for
from catalogue.webhooks import EVENT_HEADER, SIGNATURE_HEADER, check_address, sign
from core.db import utcnow
from core.jobs import MAX_ATTEMPTS, enqueue

log = logging.getLogger("rpabank.notifier")
DIGEST_JOB = "email_digest"
BENEFITS_JOB = "benefits_check"
WEBHOOK_TIMEOUT = 10.0


class SmtpTarget:
    """Where mail goes: smtp://[user[:password]@]host[:port], smtps:// (TLS) or smtp+starttls://."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
            raise ValueError("RPABANK_SMTP_URL must look like smtp://user:password@host:port (or smtps://).")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self._context: ssl.SSLContext | None = None

    def context(self) -> ssl.SSLContext:
        """One verifying TLS context for every message: reading the system's certificates holds the GIL for a
        moment, so it is done once, not per message."""
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def send(self, message: EmailMessage) -> None:
        if self.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=30, context=self.context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=30)
        with client:
            if self.scheme == "smtp+starttls":
                client.starttls(context=self.context())
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(message)


class Notifier:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        smtp_url: str | None,
        sender: str,
        base_url: str | None,
        allow_private: bool,
    ) -> None:
        self.sessions = sessions
        self.smtp = SmtpTarget(smtp_url) if smtp_url else None
        self.sender = sender
        self.base_url = (base_url or "http://127.0.0.1:8000").rstrip("/")
        self.allow_private = allow_private

    def handlers(self) -> dict[str, Any]:
        return {
            EMAIL_JOB: self.email,
            DIGEST_JOB: self.digest,
            WEBHOOK_JOB: self.deliver,
            BENEFITS_JOB: self.check_benefits,
        }

    # -------------------------------------------------------- e-mail

    def _message(self, user: User, items: list[Notification], digest: bool) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = formataddr((user.name, user.email or ""))
        message["Message-ID"] = make_msgid(domain="rpabanken")
        if len(items) == 1 and not digest:
            message["Subject"] = f"RPA-banken: {items[0].title}"
        else:
            message["Subject"] = f"RPA-banken: {len(items)} nye notifikationer" + (
                " (dagens samling)" if digest else ""
            )
        lines = [f"Hej {user.name}", ""]
        for n in items:
            lines += [f"{KIND_LABELS.get(n.kind, n.kind)}: {n.title}", f"  {self.base_url}{n.url}", ""]
        lines += [
            "Du får denne mail, fordi du følger noget i RPA-banken.",
            f"Indstillinger: {self.base_url}/notifications",
        ]
        message.set_content("\n".join(lines))
        return message

    async def send_to(self, user_id: int, *, digest: bool) -> dict[str, Any]:
        """Send a person their notifications not e-mailed yet, in one mail; they are marked once it is sent."""
        if self.smtp is None:
            return {"skipped": "RPABANK_SMTP_URL is not set"}
        async with self.sessions() as session:
            user = await session.get(User, user_id)
            prefs = await session.get(NotificationPreference, user_id)
            mode = prefs.email if prefs else DEFAULT_EMAIL
            if user is None or not user.active or not user.email or mode != ("daily" if digest else "immediate"):
                return {"skipped": "no e-mail wanted"}
            items = list(
                (await session.scalars(select(Notification).where(unsent_for(user_id)).order_by(Notification.id))).all()
            )
            if not items:
                return {"sent": 0}
            message = self._message(user, items, digest)
            await asyncio.to_thread(self.smtp.send, message)  # a failure raises: the job is retried
            await session.execute(
                update(Notification).where(Notification.id.in_([n.id for n in items])).values(emailed_at=utcnow())
            )
            await session.commit()
        return {"sent": len(items), "to": user.email}

    async def email(self, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.send_to(int(payload["user_id"]), digest=False)

    async def digest(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The daily digest: one mail to each person who chose it and has unsent notifications."""
        async with self.sessions() as session:
            users = (
                await session.scalars(
                    select(NotificationPreference.user_id)
                    .join(Notification, Notification.user_id == NotificationPreference.user_id)
                    .where(NotificationPreference.email == "daily", Notification.emailed_at.is_(None))
                    .distinct()
                )
            ).all()
        sent = [await self.send_to(uid, digest=True) for uid in users]
        return {"people": len(sent)}

    # -------------------------------------------------------- webhooks

    async def deliver(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST one event to its webhook, signed; a failure is logged on the attempt and raised (retried)."""
        attempt_id = int(payload["attempt"])
        async with self.sessions() as session:
            attempt = await session.get(WebhookAttempt, attempt_id)
            hook = await session.get(Webhook, attempt.webhook_id) if attempt else None
            if attempt is None or hook is None:
                return {"skipped": "the webhook is gone"}
            body = json.dumps(attempt.payload, ensure_ascii=False, separators=(",", ":")).encode()
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(hook.secret, body),
                EVENT_HEADER: attempt.event,
                "X-RPAbank-Delivery": str(attempt.id),
                "User-Agent": "RPA-banken webhooks",
            }
            attempt.attempts += 1
            error: str | None = None
            status: int | None = None
            try:
                await check_address(hook.url, self.allow_private)
                async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT, follow_redirects=False) as client:
                    response = await client.post(hook.url, content=body, headers=headers)
                status = response.status_code
                if not 200 <= status < 300:
                    error = f"the receiver answered {status}"
            except Exception as exc:
                error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            attempt.response_status = status
            attempt.error = error
            if error is None:
                attempt.status, attempt.delivered_at = "delivered", utcnow()
            else:
                attempt.status = "failed" if attempt.attempts >= MAX_ATTEMPTS else "pending"
            await session.commit()
        if error is not None:
            raise RuntimeError(error)
        return {"delivered": attempt_id, "status": status}

    # -------------------------------------------------------- daily work

    async def check_benefits(self, payload: dict[str, Any]) -> dict[str, Any]:
        today = dt.date.fromisoformat(payload["today"]) if payload.get("today") else dt.date.today()
        async with self.sessions() as session:
            written = await NotificationService(session).check_missing_benefits(today)
            await session.commit()
        return {"notifications": written}

    async def enqueue_daily(self, session: AsyncSession) -> None:
        """Queue the day's work: the digest and the check for missing benefit figures."""
        await enqueue(session, DIGEST_JOB, DIGEST_JOB, {})
        await enqueue(session, BENEFITS_JOB, BENEFITS_JOB, {"today": dt.date.today().isoformat()})
