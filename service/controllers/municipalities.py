from __future__ import annotations

from litestar import get, patch, post
from litestar.params import JSONBody

from catalogue.schemas import AdoptionRead, MunicipalityCreate, MunicipalityRead, MunicipalityUpdate
from service.controllers.base import ApiController
from service.controllers.params import CodePath
from service.deps import ActorDep, AdoptionServiceDep, MunicipalityServiceDep


class MunicipalityController(ApiController):
    path = "/api/municipalities"
    tags = ["municipalities"]

    @get("/", summary="All municipalities of the network, former members included")
    async def list_municipalities(self, municipality_service: MunicipalityServiceDep) -> list[MunicipalityRead]:
        return await municipality_service.all()

    @get("/{code:str}", summary="One municipality")
    async def get_municipality(self, municipality_service: MunicipalityServiceDep, code: CodePath) -> MunicipalityRead:
        return await municipality_service.get(code)

    @post("/", summary="Add a municipality (admin)")
    async def create_municipality(
        self, municipality_service: MunicipalityServiceDep, actor: ActorDep, data: JSONBody[MunicipalityCreate]
    ) -> MunicipalityRead:
        return await municipality_service.create(actor, data)

    @patch("/{code:str}", summary="Change a municipality (admin)")
    async def update_municipality(
        self,
        municipality_service: MunicipalityServiceDep,
        actor: ActorDep,
        code: CodePath,
        data: JSONBody[MunicipalityUpdate],
    ) -> MunicipalityRead:
        return await municipality_service.update(actor, code, data)

    @get("/{code:str}/adoptions", summary="The processes a municipality has adopted")
    async def municipality_adoptions(
        self, adoption_service: AdoptionServiceDep, actor: ActorDep, code: CodePath
    ) -> list[AdoptionRead]:
        return await adoption_service.for_municipality(actor, code)
