"""Domain errors. The service layer maps each class to an HTTP status once."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a user can cause. `field` names the input at fault, when one is; `code` says which rule
    it broke, for a page that words it in Danish (never matched from the English message)."""

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class Forbidden(DomainError):
    pass


class NotAuthenticated(DomainError):
    pass


class Invalid(DomainError):
    pass


class PreconditionFailed(DomainError):
    pass


class PreconditionRequired(DomainError):
    """A change that must say which version it changes (If-Match) did not."""


class TooLarge(DomainError):
    pass


class UnsupportedMedia(DomainError):
    pass
