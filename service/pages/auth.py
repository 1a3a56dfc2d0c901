"""Sign-in for editors: the token is typed into a form (POST), checked like a bearer token and kept only in
the signed, encrypted, HttpOnly, SameSite=Lax session cookie — never in a URL."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from service.deps import ActorDep, SettingsDep, TokenServiceDep
from service.pages.common import SESSION_KEY, page_context, safe_next

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


class AuthPages(Controller):
    include_in_schema = False

    @get("/login", name="login")
    async def login_form(self, actor: ActorDep, next: FromQuery[str | None] = None) -> Template:
        return Template(
            template_name="login.html", context=page_context(actor, nav="login", next=safe_next(next), error=None)
        )

    @post("/login", status_code=303)
    async def login(
        self,
        token_service: TokenServiceDep,
        settings: SettingsDep,
        request: Request[Any, Any, Any],
        actor: ActorDep,
        data: Form,
    ) -> Redirect | Template:
        token = (data.get("token") or "").strip()
        target = safe_next(data.get("next"))
        error = "Skriv din nøgle." if not token else None
        if token:
            try:
                signed_in = await token_service.resolve(token, settings.admin_token)
            except LookupError:
                error = "Nøglen er ukendt eller tilbagekaldt."
        if error:
            return Template(
                template_name="login.html",
                status_code=400,
                context=page_context(actor, nav="login", next=target, error=error),
            )
        request.set_session({SESSION_KEY: token, "name": signed_in.name})
        return Redirect(path=target, status_code=303)

    @post("/logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect(path="/", status_code=303)
