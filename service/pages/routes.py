"""The pages' router: every page controller, the session cookie and CSRF protection.

Sessions and CSRF are middleware of this router only, so the JSON API under /api is untouched: it stays
Bearer-token only, without cookies or CSRF tokens.
"""

from __future__ import annotations

import hashlib
import hmac

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session.base import SessionMiddleware
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.types import ASGIApp

from service.pages.auth import AuthPages, TokenPages, UserPages
from service.pages.bot_forms import BotFormPages
from service.pages.bots import BotPages, PrinciplePages
from service.pages.common import provide_page_actor
from service.pages.dashboard import DashboardPages
from service.pages.ideas import IdeaPages
from service.pages.imports import ImportPages
from service.pages.municipalities import MunicipalityPages
from service.pages.process_forms import ProcessFormPages
from service.pages.processes import ProcessPages
from service.pages.search import SearchPages
from service.pages.social import SocialPages
from service.settings import Settings

PAGE_CONTROLLERS = [
    SearchPages,
    ProcessFormPages,
    ProcessPages,
    MunicipalityPages,
    DashboardPages,
    BotFormPages,
    BotPages,
    PrinciplePages,
    AuthPages,
    TokenPages,
    IdeaPages,
    UserPages,
    ImportPages,
    SocialPages,
]
SESSION_COOKIE = "rpabank_session"
CSRF_COOKIE = "rpabank_csrf"


class PageSessionMiddleware(SessionMiddleware[ClientSideSessionBackend]):
    """The cookie session, its cipher made when the route is built (Litestar deep-copies routers, and a
    cipher cannot be copied)."""

    def __init__(self, app: ASGIApp, config: CookieBackendConfig) -> None:
        super().__init__(app=app, backend=ClientSideSessionBackend(config=config))


def _derive(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), purpose.encode("ascii"), hashlib.sha256).digest()


def pages_router(settings: Settings) -> Router:
    secret = settings.effective_session_secret
    session = CookieBackendConfig(
        secret=_derive(secret, "session"),
        key=SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=8 * 3600,
    )
    csrf = CSRFConfig(
        secret=_derive(secret, "csrf").hex(),
        cookie_name=CSRF_COOKIE,
        cookie_httponly=True,
        cookie_samesite="lax",
        cookie_secure=settings.secure_cookies,
        exclude=["^/api"],
    )
    return Router(
        path="/",
        route_handlers=PAGE_CONTROLLERS,
        include_in_schema=False,
        dependencies={"actor": Provide(provide_page_actor)},
        middleware=[
            DefineMiddleware(PageSessionMiddleware, config=session),
            DefineMiddleware(CSRFMiddleware, config=csrf),
        ],
    )
