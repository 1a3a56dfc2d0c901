"""Who is asking: an admin, an editor bound to one municipality, or an anonymous reader."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import Forbidden, NotAuthenticated


@dataclass(frozen=True, slots=True)
class Actor:
    role: str  # "admin" | "editor" | "anonymous"
    name: str
    municipality: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_authenticated(self) -> bool:
        return self.role != "anonymous"

    def can_write_for(self, code: str) -> bool:
        return self.is_admin or (self.role == "editor" and self.municipality == code)

    def require_write_for(self, code: str, what: str) -> None:
        """Raise unless this actor may write `what` belonging to municipality `code`."""
        self.require_authenticated()
        if not self.can_write_for(code):
            raise Forbidden(
                f"Your token is for municipality {self.municipality}; {what} belongs to municipality {code}."
            )

    def require_admin(self, what: str) -> None:
        self.require_authenticated()
        if not self.is_admin:
            raise Forbidden(f"Only an admin may {what}.")

    def require_authenticated(self) -> None:
        if not self.is_authenticated:
            raise NotAuthenticated("This needs a token: send 'Authorization: Bearer <token>'.")


ANONYMOUS = Actor(role="anonymous", name="anonymous")
