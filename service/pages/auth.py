"""Sign-in on the pages: with the municipality's OpenID Connect provider, or (for administrators and
development, unless RPABANK_TOKEN_LOGIN=0) with a token typed into a form. Either way the signed, encrypted,
HttpOnly, SameSite=Lax session cookie keeps who is signed in, never a secret.

Also the person's own tokens ("Mine nøgler") and the secretariat's list of people ("Brugere").
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from catalogue.schemas import TokenCreate, UserUpdate
from catalogue.users import NoMunicipality, UserService, user_actor
from core.actors import ROLES, role_rank
from core.db import utcnow
from core.errors import DomainError
from service.controllers.params import IdPath
from service.deps import ActorDep, DbDep, MunicipalityServiceDep, SettingsDep, TokenServiceDep, UserServiceDep
from service.oidc import OidcClient, Pending, SignInFailed, identify
from service.pages.common import (
    ROLE_LABELS,
    Form,
    FormErrors,
    domain_form_errors,
    form_to_struct,
    page,
    page_context,
    require_signed_in,
    safe_next,
    session_of,
    sign_in_session,
    sign_out_session,
)
from service.statuses import domain_status

PENDING_KEY = "oidc"
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
log = logging.getLogger("rpabank.signin")


def _oidc(request: Request[Any, Any, Any]) -> OidcClient:
    client: OidcClient | None = request.app.state.oidc
    if client is None:
        raise NotFoundException("Log ind med kommunens login er ikke sat op.")
    return client


def _redirect_uri(request: Request[Any, Any, Any]) -> str:
    base = request.app.state.settings.base_url or str(request.base_url).rstrip("/")
    return f"{base}/login/oidc/callback"


def _problem(actor: Any, settings: Any, title: str, message: str, status: int, person: Any = None) -> Template:
    return Template(
        template_name="login_problem.html",
        status_code=status,
        context=page_context(actor, nav="login", title=title, message=message, person=person, contact=settings.contact),
    )


class AuthPages(Controller):
    def _login_page(self, actor: Any, settings: Any, next: str, error: str | None, status: int = 200) -> Template:
        return Template(
            template_name="login.html",
            status_code=status,
            context=page_context(
                actor,
                nav="login",
                next=next,
                error=error,
                oidc_name=settings.oidc.name if settings.oidc else None,
                token_login=settings.token_login,
                contact=settings.contact,
            ),
        )

    @get("/login", name="login")
    async def login_form(self, actor: ActorDep, settings: SettingsDep, next: FromQuery[str | None] = None) -> Template:
        return self._login_page(actor, settings, safe_next(next), None)

    @post("/login", status_code=303)
    async def login(
        self,
        token_service: TokenServiceDep,
        settings: SettingsDep,
        request: Request[Any, Any, Any],
        actor: ActorDep,
        data: Form,
    ) -> Redirect | Template:
        if not settings.token_login:
            raise NotFoundException("Log ind med nøgle er slået fra (RPABANK_TOKEN_LOGIN=0).")
        token = (data.get("token") or "").strip()
        target = safe_next(data.get("next"))
        error = "Skriv din nøgle." if not token else None
        if token:
            try:
                signed_in = await token_service.resolve(token, settings.admin_token)
            except LookupError:
                error = "Nøglen er ukendt, udløbet eller tilbagekaldt."
        if error:
            return self._login_page(actor, settings, target, error, status=400)
        await sign_in_session(request, token_service.session, signed_in)
        return Redirect(path=target, status_code=303)

    @get("/login/oidc")
    async def oidc_begin(self, request: Request[Any, Any, Any], next: FromQuery[str | None] = None) -> Redirect:
        """Send the person to the provider, keeping state, nonce and the PKCE verifier in the session."""
        url, pending = await _oidc(request).begin(_redirect_uri(request), safe_next(next))
        request.set_session({PENDING_KEY: pending.as_dict()})
        return Redirect(path=url, status_code=303)

    @get("/login/oidc/callback")
    async def oidc_callback(
        self, request: Request[Any, Any, Any], actor: ActorDep, settings: SettingsDep, user_service: UserServiceDep
    ) -> Redirect | Template:
        client = _oidc(request)
        pending = Pending.from_dict(session_of(request).get(PENDING_KEY))
        request.clear_session()  # the state is used once: a replayed answer finds nothing to match
        if pending is None:
            return _problem(
                actor,
                settings,
                "Log ind er udløbet",
                "Vi kunne ikke genkende dette log ind — det er måske allerede brugt, eller det tog for lang tid. "
                "Start forfra.",
                400,
            )
        try:
            claims = await client.complete(_redirect_uri(request), pending, dict(request.query_params))
        except SignInFailed as exc:
            log.warning("sign-in refused: %s", exc.reason)
            return _problem(actor, settings, "Log ind mislykkedes", "Vi kunne ikke bekræfte dit log ind.", 400)
        try:
            user = await user_service.sign_in(identify(claims, settings.oidc))  # type: ignore[arg-type]
        except NoMunicipality as exc:
            return _problem(
                actor,
                settings,
                "Vi ved ikke, hvilken kommune du hører til",
                "Du er logget ind hos din udbyder, men intet i dit log ind fortæller, hvilken kommune du arbejder "
                "for, så RPA-banken kan ikke give dig adgang endnu.",
                403,
                person=exc.user,
            )
        await sign_in_session(request, user_service.session, user_actor(user, "session"), epoch=user.session_epoch)
        return Redirect(path=pending.next, status_code=303)

    @post("/logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any], actor: ActorDep, db: DbDep) -> Redirect:
        """End the session here (every copy of its cookie), then (after an OpenID Connect sign-in) at the
        provider, where it offers that."""
        await sign_out_session(request, db)
        client: OidcClient | None = request.app.state.oidc
        if client is not None and actor.auth == "session":
            base = request.app.state.settings.base_url or str(request.base_url).rstrip("/")
            url = await client.end_session_url(f"{base}/")
            if url:
                return Redirect(path=url, status_code=303)
        return Redirect(path="/", status_code=303)


# ---------------------------------------------------------------- Mine nøgler


def _role_choices(role: str) -> list[tuple[str, str]]:
    return [(r, ROLE_LABELS[r]) for r in reversed(ROLES) if role_rank(r) <= role_rank(role)]


def _expiry(text: str) -> dt.datetime | None:
    """A date typed on the page: the token lasts through that day (Danish time)."""
    if not text.strip():
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise FormErrors({"expires_at": "Skriv en dato som 2026-12-31."}) from None
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=COPENHAGEN)


class TokenPages(Controller):
    path = "/me/tokens"

    async def _page(self, actor: Any, token_service: Any, *, status: int = 200, **values: Any) -> Template:
        context = {"errors": {}, "values": {"role": actor.role}, "secret": None, "created": None, **values}
        tokens = await token_service.mine(actor)
        return page(
            "tokens.html",
            actor,
            status=status,
            nav="tokens",
            tokens=tokens,
            roles=_role_choices(actor.role),
            now=utcnow(),
            **context,
        )

    @get("/", name="my_tokens")
    async def tokens(self, actor: ActorDep, token_service: TokenServiceDep) -> Template | Redirect:
        if (redirect := require_signed_in(actor, "/me/tokens")) is not None:
            return redirect
        return await self._page(actor, token_service)

    @post("/", status_code=200)
    async def create(self, actor: ActorDep, token_service: TokenServiceDep, data: Form) -> Template | Redirect:
        if (redirect := require_signed_in(actor, "/me/tokens")) is not None:
            return redirect
        values = {k: (data.get(k) or "").strip() for k in ("name", "expires_at", "role")}
        try:
            expires = _expiry(values["expires_at"])
            request = form_to_struct({"name": values["name"], "role": values["role"] or None}, TokenCreate)
            request.expires_at = expires
            secret, created = await token_service.create_for(actor, request)
        except FormErrors as exc:
            return await self._page(actor, token_service, status=422, errors=exc.errors, values=values)
        except DomainError as exc:
            errors = domain_form_errors(exc).errors
            return await self._page(actor, token_service, status=domain_status(exc)[0], errors=errors, values=values)
        return await self._page(actor, token_service, secret=secret, created=created)

    @post("/{token_id:int}/revoke", status_code=303)
    async def revoke(self, actor: ActorDep, token_service: TokenServiceDep, token_id: IdPath) -> Redirect:
        if (redirect := require_signed_in(actor, "/me/tokens")) is not None:
            return redirect
        await token_service.revoke(token_id, actor)
        return Redirect(path="/me/tokens", status_code=303)


# ---------------------------------------------------------------- Brugere (the secretariat)


class UserPages(Controller):
    path = "/admin/users"

    async def _page(
        self, actor: Any, users: UserService, municipalities: Any, error: str | None = None, status: int = 200
    ) -> Template:
        everyone, all_municipalities = await users.all(actor), await municipalities.all()
        return page(
            "users.html",
            actor,
            status=status,
            nav="users",
            users=everyone,
            municipalities=all_municipalities,
            roles=_role_choices("admin"),
            error=error,
        )

    @get("/", name="users")
    async def users(
        self, actor: ActorDep, user_service: UserServiceDep, municipality_service: MunicipalityServiceDep
    ) -> Template | Redirect:
        if (redirect := require_signed_in(actor, "/admin/users")) is not None:
            return redirect
        return await self._page(actor, user_service, municipality_service)

    @post("/{user_id:int}", status_code=303)
    async def update(
        self,
        actor: ActorDep,
        user_service: UserServiceDep,
        municipality_service: MunicipalityServiceDep,
        user_id: IdPath,
        data: Form,
    ) -> Template | Redirect:
        if (redirect := require_signed_in(actor, "/admin/users")) is not None:
            return redirect
        try:
            change = form_to_struct(
                {
                    "role": data.get("role") or None,
                    "municipality": (data.get("municipality") or "").strip() or None,
                    "active": data.get("active") == "1",
                },
                UserUpdate,
            )
            await user_service.update(actor, user_id, change)
        except (FormErrors, DomainError) as exc:
            message = " ".join(exc.errors.values()) if isinstance(exc, FormErrors) else exc.message
            status = 422 if isinstance(exc, FormErrors) else domain_status(exc)[0]
            return await self._page(actor, user_service, municipality_service, error=message, status=status)
        return Redirect(path="/admin/users", status_code=303)
