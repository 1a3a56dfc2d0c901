"""Who is asking: a person (or a token acting for one) with a role, or an anonymous reader.

Roles, from least to most: `reader` (signed in; may follow, comment and propose, may not change the catalogue),
`editor` (writes for its own municipality), `admin` (the network's secretariat: writes for anyone).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import Forbidden, NotAuthenticated

ROLES = ("reader", "editor", "admin")


def role_rank(role: str) -> int:
    """reader 1 < editor 2 < admin 3; anything else 0."""
    return ROLES.index(role) + 1 if role in ROLES else 0


def narrower_role(a: str, b: str) -> str:
    """The lesser of two roles (a token never grants more than its owner has)."""
    return a if role_rank(a) <= role_rank(b) else b


@dataclass(frozen=True, slots=True)
class Actor:
    role: str  # "admin" | "editor" | "reader" | "anonymous"
    name: str
    municipality: str | None = None
    user_id: int | None = None  # the person, when there is one (not for the bootstrap admin token)
    email: str | None = None
    auth: str = "anonymous"  # how the caller proved who it is: "session", "token", "admin-token"
    token_id: int | None = None  # the API token it came with, if any

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_authenticated(self) -> bool:
        return self.role != "anonymous"

    @property
    def can_write(self) -> bool:
        """Editors and admins change the catalogue; readers do not."""
        return self.role in ("editor", "admin")

    def can_write_for(self, code: str) -> bool:
        return self.is_admin or (self.role == "editor" and self.municipality == code)

    def require_writer(self) -> None:
        """Raise unless this actor may change the catalogue at all (an editor or an admin)."""
        self.require_authenticated()
        if not self.can_write:
            raise Forbidden("A reader may look, follow and comment, but not change the catalogue; ask an admin.")

    def require_write_for(self, code: str, what: str) -> None:
        """Raise unless this actor may write `what` belonging to municipality `code`."""
        self.require_writer()
        if not self.can_write_for(code):
            raise Forbidden(f"You write for municipality {self.municipality}; {what} belongs to municipality {code}.")

    def require_admin(self, what: str) -> None:
        self.require_authenticated()
        if not self.is_admin:
            raise Forbidden(f"Only an admin may {what}.")

    def require_authenticated(self) -> None:
        if not self.is_authenticated:
            raise NotAuthenticated("This needs a token: send 'Authorization: Bearer <token>'.")


ANONYMOUS = Actor(role="anonymous", name="anonymous")
