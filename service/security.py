"""Security headers on every answer: a Content-Security-Policy without inline script for the pages (the API
docs page, Swagger UI, needs its inline start-up script), no sniffing, no framing, a strict referrer policy,
and HSTS when the site is served over HTTPS (RPABANK_SECURE_COOKIES=1)."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send

DOCS_PATH = "/api/schema"


def content_security_policy(form_targets: tuple[str, ...] = (), docs: bool = False) -> str:
    """The pages' policy: everything from this origin only, no inline script or style, no framing. Forms may
    also lead to the sign-in provider (sign-out redirects there)."""
    script = "'self' 'unsafe-inline'" if docs else "'self'"
    style = "'self' 'unsafe-inline'" if docs else "'self'"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script}",
            f"style-src {style}",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action " + " ".join(("'self'", *form_targets)),
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """ASGI wrapper: adds the headers to every HTTP answer (pages, API, static files, errors)."""

    def __init__(self, app: ASGIApp, *, oidc_issuer: str | None = None, https: bool = False) -> None:
        self.app = app
        origin = ""
        if oidc_issuer:
            parts = urlsplit(oidc_issuer)
            origin = f"{parts.scheme}://{parts.netloc}"
        targets = (origin,) if origin else ()
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
        ]
        if https:
            common.append((b"strict-transport-security", b"max-age=31536000"))
        self.pages = [*common, (b"content-security-policy", content_security_policy(targets).encode())]
        self.docs = [*common, (b"content-security-policy", content_security_policy(targets, docs=True).encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        extra = self.docs if scope["path"].startswith(DOCS_PATH) else self.pages
        names = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers") or () if k.lower() not in names]
                message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


NUL_MESSAGE = b'{"status_code":422,"error":"invalid","message":"A NUL character (%00) is not allowed in an address."}'


class RefuseNul:
    """ASGI wrapper: an address (path or query) holding a NUL character is refused with 422 before anything
    reads it: PostgreSQL cannot store NUL, SQLite would, and neither should be asked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            raw = bytes(scope.get("raw_path") or b"") + b"?" + bytes(scope.get("query_string") or b"")
            if b"\x00" in raw or b"%00" in raw.lower() or "\x00" in scope["path"]:
                start: HTTPResponseStartEvent = {
                    "type": "http.response.start",
                    "status": 422,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(NUL_MESSAGE)).encode()),
                    ],
                }
                await send(start)
                body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": NUL_MESSAGE, "more_body": False}
                await send(body)
                return
        await self.app(scope, receive, send)
