"""Request ids and request metrics (the log lines themselves: `service.logs`).

Each HTTP request has an id: the client's `X-Request-ID` when it is sensible (printable ASCII, at most 200
characters), otherwise a new one. It is echoed in the response's `X-Request-ID` header and is on every line
logged while the request is handled (a context variable, read by a filter on the handler).

The request wrapper also times every request for the metrics (`service.metrics`); it wraps the whole app, so
that answers made before routing (404, 405) have an id and are counted too.
"""

from __future__ import annotations

import time
import uuid

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.logs import request_id
from service.metrics import observe_request

REQUEST_ID_HEADER = b"x-request-id"
MAX_REQUEST_ID = 200


def valid_request_id(value: str) -> bool:
    return 0 < len(value) <= MAX_REQUEST_ID and all(" " <= c <= "~" for c in value) and bool(value.strip())


def incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name.lower() == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1").strip()
            if valid_request_id(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestContext:
    """ASGI wrapper around the whole app: sets the request id, echoes it, and times the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        rid = incoming_request_id(scope)
        path = scope["path"]  # before routing: a mount (the static files) shortens it
        token = request_id.set(rid)
        status = 500  # when the app fails without answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers") or () if k.lower() != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
            elapsed = time.perf_counter() - started
            observe_request(str(scope.get("method") or "GET"), scope.get("path_template"), path, status, elapsed)


def instrument(app: Litestar) -> Litestar:
    """Wrap the app's ASGI handler (after routing errors are turned into answers, so 404s are seen too)."""
    app.asgi_handler = RequestContext(app.asgi_handler)
    return app
