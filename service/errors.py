"""Every error the API returns has one JSON shape and a message a person understands.

Domain errors are mapped to HTTP here, once; database contention becomes 409/503 with
Retry-After; nothing a client sends produces a 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import ClientException, HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

from catalogue.schemas import readable
from codebank.errors import GitError
from core.errors import (
    DomainError,
)
from search.backends.base import SearchError
from service.pages.errors import for_pages
from service.statuses import domain_status

log = logging.getLogger("rpabank")
UNKNOWN_FIELD = re.compile(r"(?:unknown|missing required) field `([^`]+)`")

HTTP_ERROR_NAMES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    428: "precondition_required",
    429: "too_many_requests",
    503: "unavailable",
}


def error_response(
    status: int,
    error: str,
    message: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"status_code": status, "error": error, "message": message}
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    status, name = domain_status(exc)
    headers = {"WWW-Authenticate": 'Bearer realm="rpabank"'} if status == 401 else None
    return error_response(status, name, exc.message, field=exc.field, headers=headers)


def _field_of(key: str | None) -> str | None:
    if not key:
        return None
    return key.removeprefix("$.").removeprefix("$") or None


def validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    """Litestar's decoding errors: malformed JSON → 400; wrong fields/values → 422, naming the field."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors = []
    for item in extra:
        if isinstance(item, dict):
            message = str(item.get("message", "invalid value"))
            message = readable(message)
            field = _field_of(item.get("key"))
            if field == "data":  # the body as a whole: name the field from the message instead
                field = None
            if unknown := UNKNOWN_FIELD.search(message):
                field = f"{field}.{unknown.group(1)}" if field else unknown.group(1)
            if field and "`" not in message and field not in message:
                message = f"{field}: {message}"
            errors.append({"field": field, "source": item.get("source"), "message": message})
    if not errors:
        detail = str(exc.detail or "The request could not be read.")
        status = 400
        return error_response(status, "bad_request", _humane(detail))
    first = errors[0]
    message = str(first["message"])
    field = first["field"]
    if field and field not in message:
        message = f"{field}: {message}"
    return error_response(422, "invalid", message, field=field, errors=errors)


def _humane(detail: str) -> str:
    return f"The request body is not valid JSON ({detail.removeprefix('JSON is malformed: ')})."


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status >= 500:
        log.error("HTTP %s: %s", status, exc.detail)
        return error_response(
            status,
            HTTP_ERROR_NAMES.get(status, "server_error"),
            "Something went wrong on our side; it has been logged.",
        )
    message = str(exc.detail)
    if status == 400 and type(exc) is ClientException:  # the body could not be decoded at all
        message = _humane(message)
    if status == 404 and message in ("Not Found", ""):
        message = "There is nothing at this address."
    elif status == 405:
        message = "This address does not accept that method."
    elif status == 413:
        message = "The request is larger than this address accepts (an import takes at most 20 MB)."
    headers = dict(exc.headers or {})
    return error_response(status, HTTP_ERROR_NAMES.get(status, "error"), message, headers=headers or None)


def _is_contention(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    codes = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available
    return (
        "locked" in text
        or "busy" in text
        or getattr(exc.orig, "sqlstate", None) in codes
        or any(code.lower() in text for code in ("serializationerror", "deadlockdetected"))
    )


def database_error(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if isinstance(exc, IntegrityError):
        return error_response(
            409,
            "conflict",
            "That would clash with data written at the same time or already there; read it again and retry.",
        )
    if isinstance(exc, StaleDataError):
        return error_response(409, "conflict", "Someone else changed this at the same moment; read it again and retry.")
    if isinstance(exc, PoolTimeout) or (isinstance(exc, DBAPIError) and _is_contention(exc)):
        return error_response(
            503, "unavailable", "The database is busy; please retry in a moment.", headers={"Retry-After": "1"}
        )
    if isinstance(exc, (OperationalError, ConnectionError, TimeoutError)):
        log.warning("database unavailable: %s", exc)
        return error_response(
            503, "unavailable", "The database does not answer right now; please retry.", headers={"Retry-After": "5"}
        )
    return server_error(_, exc)


def git_error(_: Request[Any, Any, Any], exc: GitError) -> Response[dict[str, Any]]:
    log.warning("git: %s", exc)
    return error_response(502, "git_failed", f"The repository could not be read: {exc}")


def search_error(_: Request[Any, Any, Any], exc: SearchError) -> Response[dict[str, Any]]:
    """The search engine failed (unreachable, overloaded): the client may retry; never a 500."""
    log.warning("search failed: %s", exc)
    return error_response(
        503, "search_unavailable", "The search does not answer right now; please retry.", headers={"Retry-After": "5"}
    )


def too_deep(_: Request[Any, Any, Any], exc: RecursionError) -> Response[dict[str, Any]]:
    return error_response(400, "bad_request", "The JSON body is nested too deeply.")


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)  # with the traceback
    return error_response(
        HTTP_500_INTERNAL_SERVER_ERROR, "server_error", "Something went wrong on our side; it has been logged."
    )


_API_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    IntegrityError: database_error,
    StaleDataError: database_error,
    DBAPIError: database_error,
    PoolTimeout: database_error,
    ConnectionError: database_error,  # the database refused the connection (asyncpg raises OSError's kind)
    TimeoutError: database_error,  # …or did not answer within the connect timeout
    GitError: git_error,
    SearchError: search_error,
    RecursionError: too_deep,
    Exception: server_error,
}
# JSON under /api; the same status as an error page in the site's design everywhere else.
EXCEPTION_HANDLERS: dict[Any, Any] = {exc: for_pages(handler) for exc, handler in _API_HANDLERS.items()}
