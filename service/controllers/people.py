"""People and their tokens: who am I, my tokens, and the secretariat's list of people."""

from __future__ import annotations

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody

from catalogue.schemas import MeRead, TokenCreate, TokenCreated, TokenRead, UserRead, UserUpdate
from service.controllers.base import ApiController
from service.controllers.params import IdPath
from service.deps import ActorDep, TokenServiceDep, UserServiceDep, requires_token


class MeController(ApiController):
    path = "/api/me"
    tags = ["people"]

    @get("/", guards=[requires_token], summary="Who the caller is")
    async def me(self, actor: ActorDep) -> MeRead:
        actor.require_authenticated()
        return msgspec.convert(actor, MeRead, from_attributes=True)


class TokenController(Controller):
    path = "/api/tokens"
    tags = ["people"]
    guards = [requires_token]

    @post("/", summary="Make a personal token for oneself (the secret is shown once)")
    async def create_token(
        self, token_service: TokenServiceDep, actor: ActorDep, data: JSONBody[TokenCreate]
    ) -> TokenCreated:
        secret, record = await token_service.create_for(actor, data)
        return TokenCreated(token=secret, record=record)

    @get("/", summary="One's own tokens (an admin: everyone's), never their secrets")
    async def list_tokens(self, token_service: TokenServiceDep, actor: ActorDep) -> list[TokenRead]:
        return await token_service.mine(actor)

    @delete("/{token_id:int}", status_code=204, summary="Revoke a token (one's own, or any as admin)")
    async def revoke_token(self, token_service: TokenServiceDep, actor: ActorDep, token_id: IdPath) -> None:
        await token_service.revoke(token_id, actor)


class UserController(Controller):
    path = "/api/users"
    tags = ["people"]
    guards = [requires_token]

    @get("/", summary="Everyone who has signed in (admin)")
    async def list_users(self, user_service: UserServiceDep, actor: ActorDep) -> list[UserRead]:
        return await user_service.all(actor)

    @patch("/{user_id:int}", summary="Change a person's role, municipality or active flag (admin)")
    async def update_user(
        self, user_service: UserServiceDep, actor: ActorDep, user_id: IdPath, data: JSONBody[UserUpdate]
    ) -> UserRead:
        return await user_service.update(actor, user_id, data)
