"""The catalogue's own refusals, on top of the shared hierarchy in `core.errors`."""

from __future__ import annotations

from core.errors import Invalid, NotFound


class AdoptionMissing(NotFound):
    """A municipality has no adoption of the process (a benefit needs one): a 404 the pages show on the form."""


class FileTooLarge(Invalid):
    """An upload over the size an import accepts: 413."""
