"""The HTTP status of each domain error: one table for the API's errors and the pages' forms."""

from __future__ import annotations

from catalogue.errors import FileTooLarge
from core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    TooLarge,
    UnsupportedMedia,
)

DOMAIN_STATUS: dict[type[DomainError], tuple[int, str]] = {
    FileTooLarge: (413, "too_large"),  # before Invalid, of which it is one
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    Forbidden: (403, "forbidden"),
    NotAuthenticated: (401, "not_authenticated"),
    Invalid: (422, "invalid"),
    PreconditionFailed: (412, "precondition_failed"),
    PreconditionRequired: (428, "precondition_required"),
    TooLarge: (413, "too_large"),
    UnsupportedMedia: (415, "unsupported_media_type"),
}


def domain_status(exc: DomainError) -> tuple[int, str]:
    """The HTTP status (and its error name) of a domain error."""
    return next(v for k, v in DOMAIN_STATUS.items() if isinstance(exc, k))
