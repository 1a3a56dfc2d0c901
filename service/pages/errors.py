"""Errors on web pages: the same status as the API would answer, shown as a page in the site's design.

Never a stack trace: the page shows a Danish explanation chosen by status code, nothing from the exception.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from litestar import MediaType, Request, Response

from service.pages.common import has_principles

log = logging.getLogger("rpabank")

PAGE_ERRORS: dict[int, tuple[str, str]] = {
    400: ("Forespørgslen kunne ikke læses", "Det, browseren sendte, kunne ikke læses. Prøv igen."),
    401: ("Log ind først", "Denne handling kræver, at du er logget ind som redaktør."),
    403: (
        "Ingen adgang",
        "Du har ikke ret til dette. Hvis du sendte en formular, så genindlæs siden og prøv "
        "igen: formularen var måske for gammel.",
    ),
    404: (
        "Siden findes ikke",
        "Der er intet på denne adresse. Måske er den flyttet, eller adressen er skrevet forkert.",
    ),
    405: ("Det kan ikke lade sig gøre her", "Denne adresse tager ikke imod den slags forespørgsel."),
    409: ("Der var en konflikt", "Nogen ændrede det samme på samme tid. Genindlæs siden og prøv igen."),
    412: ("Siden er forældet", "Det, du ændrede, er ændret af en anden i mellemtiden. Genindlæs siden."),
    413: ("For meget på én gang", "Det, der blev sendt, var for stort."),
    422: ("Noget er ikke udfyldt rigtigt", "Ret felterne og prøv igen."),
    428: ("Siden er forældet", "Ændringen sagde ikke, hvilken version den ændrer. Genindlæs siden."),
    503: ("Prøv igen om lidt", "Tjenesten har travlt lige nu. Prøv igen om et øjeblik."),
}
SERVER_ERROR = ("Der skete en fejl", "Noget gik galt hos os. Fejlen er registreret; prøv igen senere.")


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def error_page(request: Request[Any, Any, Any], status: int, headers: dict[str, str] | None = None) -> Response[str]:
    title, message = PAGE_ERRORS.get(status, SERVER_ERROR if status >= 500 else (f"Fejl {status}", ""))
    keep = {k: v for k, v in (headers or {}).items() if k.lower() in ("retry-after", "allow")}
    try:
        template = request.app.template_engine.get_template("error.html")  # type: ignore[union-attr]
        html = template.render(
            status=status, title=title, message=message, request=request, actor=None, has_principles=has_principles()
        )
    except Exception:  # the error page itself must not fail
        log.exception("error page could not be rendered")
        html = (
            f'<!doctype html><html lang="da"><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<h1>{escape(title)}</h1><p>{escape(message)}</p><p><a href="/">Til forsiden</a></p></html>'
        )
    return Response(html, status_code=status, media_type=MediaType.HTML, headers=keep or None)


def for_pages(handler: Any) -> Any:
    """Wrap an API exception handler: JSON under /api, an error page everywhere else."""

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        response: Response[Any] = handler(request, exc)
        if is_api_path(request.url.path):
            return response
        return error_page(request, response.status_code or 500, dict(response.headers))

    handle.__name__ = getattr(handler, "__name__", "handle")
    return handle
