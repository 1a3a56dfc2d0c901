"""What every controller of the JSON API shares."""

from __future__ import annotations

from litestar import Controller

from service.deps import writes_need_token


class ApiController(Controller):
    """A controller of the JSON API: reading is open (what a reader sees is decided by the services), every
    write needs a bearer token and is answered 401 without one, before its body is read."""

    guards = [writes_need_token]
