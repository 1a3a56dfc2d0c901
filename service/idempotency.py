"""`Idempotency-Key` on POST requests to the API: a retry with the same key gets the first answer
(`Idempotent-Replayed: true`) instead of writing twice. See core.idempotency for the rules."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.idempotency import begin, finish

log = logging.getLogger("rpabank")
HEADER = b"idempotency-key"
MAX_KEY = 200


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


async def _answer(send: Send, status: int, body: bytes, content_type: bytes, extra: list[Any] | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *(extra or [])]
    start: Any = {"type": "http.response.start", "status": status, "headers": headers}
    end: Any = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)


def _error(status: int, error: str, message: str) -> bytes:
    return json.dumps({"status_code": status, "error": error, "message": message}).encode()


class Idempotency:
    """ASGI wrapper for POST /api/… with an Idempotency-Key header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER) if scope["type"] == ScopeType.HTTP else None
        if key is None or scope.get("method") != "POST" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        text = key.decode("latin-1").strip()
        if not 0 < len(text) <= MAX_KEY or not text.isprintable():
            await _answer(
                send,
                400,
                _error(400, "bad_request", f"Idempotency-Key: 1 to {MAX_KEY} printable characters."),
                b"application/json",
            )
            return
        # the body, read once and replayed to the app
        chunks: list[bytes] = []
        more = True
        while more:
            incoming: Any = await receive()
            chunks.append(bytes(incoming.get("body", b"")))
            more = bool(incoming.get("more_body"))
        body = b"".join(chunks)
        caller = hashlib.sha256(_header(scope, b"authorization") or b"").hexdigest()
        request_id = hashlib.sha256(
            "\n".join((caller, scope["path"], scope.get("query_string", b"").decode("latin-1"), text)).encode()
        ).hexdigest()
        body_hash = hashlib.sha256(body).hexdigest()
        sessions = scope["app"].state.write_sessions
        async with sessions() as session:
            seen = await begin(session, request_id, body_hash)
            await session.commit()
        if seen is not None:
            if seen.body_hash != body_hash:
                message = "Idempotency-Key: this key was used for a different request; use a new key."
                await _answer(send, 422, _error(422, "invalid", message), b"application/json")
            elif seen.status is None:
                message = "A request with this Idempotency-Key is still running; retry in a moment."
                await _answer(
                    send, 409, _error(409, "conflict", message), b"application/json", [(b"retry-after", b"1")]
                )
            else:
                stored_type = (seen.content_type or "application/json").encode()
                await _answer(send, seen.status, seen.body or b"", stored_type, [(b"idempotent-replayed", b"true")])
            return

        delivered = False

        async def replay() -> Any:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status: int = 500
        content_type: str | None = None
        answer = bytearray()

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            event: Any = message
            if event["type"] == "http.response.start":
                status = int(event["status"])
                content_type = next(
                    (v.decode("latin-1") for k, v in event.get("headers") or () if k.lower() == b"content-type"), None
                )
            elif event["type"] == "http.response.body":
                answer.extend(event.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay, capture)
        finally:
            try:
                async with sessions() as session:
                    await finish(session, request_id, status, content_type, bytes(answer))
                    await session.commit()
            except Exception:  # the answer is sent (and its write committed): never an error now; log it
                log.exception("the answer to an Idempotency-Key could not be kept; a retry with it answers 409")
