"""What every page shares: the template engine, the signed-in editor, Markdown, Danish formatting and
turning a form into the API's input struct (with the API's validation messages per field)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib.util
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template import TemplateConfig
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.follows import NotificationService
from catalogue.tokens import TokenService
from catalogue.users import UserService, end_session, session_alive, start_session
from catalogue.vocab import ADOPTION_STATUSES, DOMAINS, PHASES, STATUSES
from codebank.markdown import render
from core.actors import ANONYMOUS, Actor
from core.errors import DomainError
from service.deps import DbDep
from service.pages.charts import bar_chart, hbar_chart

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
SID_KEY, USER_KEY, EPOCH_KEY, TOKEN_ID_KEY, ADMIN_KEY = "sid", "user", "epoch", "token_id", "admin"
# KL's qualitative benefits: field → label (1: much worse · 3: unchanged · 5: much better)
QUALITATIVE = {"quality": "Kvalitet", "work_environment": "Arbejdsmiljø", "citizen_experience": "Borgeroplevelse"}
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]  # a posted form, field by field
ROLE_LABELS = {"reader": "Læser", "editor": "Redaktør", "admin": "Administrator"}

FACET_LABELS = {
    "type": "Type",
    "domain": "Område",
    "phase": "Fase",
    "status": "Status",
    "system": "IT-system",
    "technology": "Teknologi",
    "municipality": "Kommune",
}
TYPE_LABELS = {
    "process": "Proces",
    "municipality": "Kommune",
    "bot": "Robot",
    "code": "Kode",
    "principle": "Kodeprincip",
    "document": "Dokument",
}


# ---------------------------------------------------------------- formatting (Danish)


def fmt_number(value: float | int | None, decimals: int = 0) -> str:
    """12500 → "12.500"; 1234.5 with 1 decimal → "1.234,5"; None → "–"."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _last_sunday(year: int, month: int) -> dt.date:
    last = dt.date(year, month + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() + 1) % 7)


def danish_time(value: dt.datetime) -> dt.datetime:
    """A moment in Danish time (Europe/Copenhagen); a naive one is UTC, as the database keeps it. Without the
    system's time zone data the EU rule is used: summer time from the last Sunday of March to the last Sunday of
    October, 01:00 UTC."""
    utc = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    try:
        return utc.astimezone(ZoneInfo("Europe/Copenhagen"))
    except ZoneInfoNotFoundError:
        start = dt.datetime.combine(_last_sunday(utc.year, 3), dt.time(1), dt.UTC)
        end = dt.datetime.combine(_last_sunday(utc.year, 10), dt.time(1), dt.UTC)
        hours = 2 if start <= utc < end else 1
        return utc.astimezone(dt.timezone(dt.timedelta(hours=hours)))


def fmt_date(value: dt.date | dt.datetime | str | None) -> str:
    """A date as 31.05.2024; a moment as 31.05.2024 14:05 in Danish time."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        return danish_time(value).strftime("%d.%m.%Y %H:%M")
    return value.strftime("%d.%m.%Y")


MONTHS = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)
_PERIOD_TEXT = re.compile(r"^(\d{4})(?:-Q([1-4])|-(0[1-9]|1[0-2]))?$")


def fmt_period(value: str | int | None) -> str:
    """A benefit period as Danish: 2024 → "2024", 2024-Q1 → "1. kvt. 2024", 2024-03 → "marts 2024"."""
    if value is None or value == "":
        return "–"
    match = _PERIOD_TEXT.match(str(value))
    if match is None:
        return str(value)
    year, quarter, month = match.groups()
    if quarter:
        return f"{quarter}. kvt. {year}"
    if month:
        return f"{MONTHS[int(month) - 1]} {year}"
    return year


def render_markdown(text: str | None) -> Markup:
    """Markdown as safe HTML, through the one renderer (`codebank.markdown`: raw HTML escaped, unsafe links
    refused), so every page renders Markdown alike."""
    if not text:
        return Markup("")
    return Markup(render(text))  # noqa: S704 - js-default escapes raw HTML


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=fmt_number, date=fmt_date, period=fmt_period, markdown=render_markdown)
    env.globals.update(
        DOMAINS=DOMAINS,
        PHASES=PHASES,
        STATUSES=STATUSES,
        ADOPTION_STATUSES=ADOPTION_STATUSES,
        FACET_LABELS=FACET_LABELS,
        TYPE_LABELS=TYPE_LABELS,
        ROLE_LABELS=ROLE_LABELS,
        QUALITATIVE=QUALITATIVE,
        bar_chart=bar_chart,
        hbar_chart=hbar_chart,
    )
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine(engine_instance=environment()))


# ---------------------------------------------------------------- who is signed in


async def provide_page_actor(state: State, request: Request[Any, Any, Any], db: DbDep) -> Actor:
    """The person signed in on the pages. The session holds who (a user id and its session epoch, or the id of
    the token signed in with), never a secret; it is checked on every request, so a deactivated person or a
    revoked or expired token is signed out at once."""
    session = session_of(request)
    actor: Actor | None = None
    if not await session_alive(db, session.get(SID_KEY)):
        pass  # signed out here (or a cookie from before page sessions): nobody
    elif isinstance(session.get(USER_KEY), int):
        actor = await UserService(db).actor(session[USER_KEY], int(session.get(EPOCH_KEY) or 0))
    elif isinstance(session.get(TOKEN_ID_KEY), int):
        try:
            actor = await TokenService(db).resolve_id(session[TOKEN_ID_KEY])
        except LookupError:
            actor = None
    elif isinstance(session.get(ADMIN_KEY), str):
        admin_token = state.settings.admin_token
        if admin_token and hmac.compare_digest(session[ADMIN_KEY], admin_fingerprint(admin_token)):
            actor = await TokenService(db).resolve(admin_token, admin_token)
    if actor is None:
        if any(key in session for key in (SID_KEY, USER_KEY, TOKEN_ID_KEY, ADMIN_KEY)):
            request.clear_session()  # signed out at once: deactivated, revoked, expired or a rotated admin token
        return ANONYMOUS
    if actor.user_id is not None:  # the bell in the header: how many notifications are unread
        request.state.unread = await NotificationService(db).unread(actor)
    return actor


def session_of(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The page session's values ({} when there is none, or it was cleared in this request)."""
    value = request.scope.get("session")
    return value if isinstance(value, dict) else {}


def admin_fingerprint(admin_token: str) -> str:
    """What a session signed in with RPABANK_ADMIN_TOKEN keeps: a keyed hash, so that rotating the token ends it."""
    return hmac.new(admin_token.encode(), b"rpabank page session", hashlib.sha256).hexdigest()


async def sign_in_session(request: Request[Any, Any, Any], db: AsyncSession, actor: Actor, epoch: int = 0) -> None:
    """Start a page session for `actor`: a server-side session (so signing out ends every copy of the cookie)
    and, in the cookie, who — the person, or the token it signed in with — never a secret."""
    sid = await start_session(db, actor.user_id)
    if actor.user_id is not None and actor.auth == "session":
        request.set_session({SID_KEY: sid, USER_KEY: actor.user_id, EPOCH_KEY: epoch})
    elif actor.token_id is not None:
        request.set_session({SID_KEY: sid, TOKEN_ID_KEY: actor.token_id})
    else:
        request.set_session({SID_KEY: sid, ADMIN_KEY: admin_fingerprint(request.app.state.settings.admin_token)})


async def sign_out_session(request: Request[Any, Any, Any], db: AsyncSession) -> None:
    await end_session(db, session_of(request).get(SID_KEY))
    request.clear_session()


def page_context(actor: Actor, **values: Any) -> dict[str, Any]:
    """What every page template gets: who is signed in, which menu item is current, and the page's values."""
    return {"actor": actor, "has_principles": has_principles(), **values}


def page(template: str, actor: Actor, *, status: int = 200, **values: Any) -> Template:
    """A page: its template with what every page gets (`page_context`) and its own values."""
    return Template(template_name=template, status_code=status, context=page_context(actor, **values))


def has_principles() -> bool:
    """The code bank's principles pages are linked once the code bank offers them (PrincipleService lives in
    codebank.services)."""
    return importlib.util.find_spec("codebank.services") is not None


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def safe_next(target: str | None) -> str:
    """Only local paths: no `//host`, no scheme."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


# ---------------------------------------------------------------- forms


_AT = re.compile(r"\s*-\s*at `\$\.?([^`]*)`\s*$")


class FormErrors(Exception):
    """A form the API would refuse: {field: message}, "" for the form as a whole."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def form_to_struct(values: dict[str, Any], struct: type[Any]) -> Any:
    """Convert form values to the API's input struct; refusals name their field as the API does."""
    try:
        return msgspec.convert(values, struct, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _AT.search(message)
        field = match.group(1).split(".")[0].split("[")[0] if match else ""
        text = _AT.sub("", message)
        raise FormErrors({field: f"{field}: {text}" if field else text}) from None


def domain_form_errors(exc: DomainError, fields: dict[str, str] | None = None) -> FormErrors:
    """The domain's refusal next to the form field it names (`fields` maps API field names to form names)."""
    field = exc.field or ""
    return FormErrors({(fields or {}).get(field, field): exc.message})


def require_signed_in(actor: Actor, here: str) -> Redirect | None:
    """A page for signed-in people: the login page (and back here) for anyone else."""
    if actor.is_authenticated:
        return None
    return Redirect(path=f"/login?next={quote(here)}", status_code=303)
