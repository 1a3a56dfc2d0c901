"""Ideas and the joint pipeline: propose, screen, vote, the board, and the network's decisions."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, get, post, put
from litestar.params import JSONBody, QueryParameter

from catalogue.ideas import IDEA_SORTS
from catalogue.schemas import (
    DecisionRead,
    DecisionWrite,
    IdeaBoard,
    IdeaProposal,
    ProcessRead,
    ProcessScreening,
    ScreeningQuestionRead,
    ScreeningRead,
    ScreeningWrite,
    VoteRead,
)
from catalogue.vocab import Domain
from service.controllers.base import ApiController
from service.controllers.params import PROCESS, ProcessDep
from service.deps import ActorDep, IdeaServiceDep

Sort = Annotated[str, QueryParameter(description=f"one of {', '.join(IDEA_SORTS)}")]


class IdeaController(ApiController):
    path = "/api/ideas"
    tags = ["ideas"]

    @get("/", summary="The idea board: ideas ranked by interest, screening and combined expected hours")
    async def idea_board(
        self,
        idea_service: IdeaServiceDep,
        actor: ActorDep,
        sort: Sort = "priority",
        domain: Annotated[Domain | None, QueryParameter()] = None,
        system: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> IdeaBoard:
        return await idea_service.board(actor, sort, domain, system)

    @post("/", summary="Propose an idea (anyone signed in, readers too)")
    async def propose_idea(
        self, idea_service: IdeaServiceDep, actor: ActorDep, data: JSONBody[IdeaProposal]
    ) -> ProcessRead:
        return await idea_service.propose(actor, data)


class ScreeningQuestionController(ApiController):
    path = "/api/screening/questions"
    tags = ["ideas"]

    @get("/", summary="The screening questionnaire: 1–5 answers, weighted, about potential or ease")
    async def screening_questions(self, idea_service: IdeaServiceDep) -> list[ScreeningQuestionRead]:
        return await idea_service.questions()

    @put("/", summary="Replace the questionnaire (admin)")
    async def set_screening_questions(
        self, idea_service: IdeaServiceDep, actor: ActorDep, data: JSONBody[list[ScreeningQuestionRead]]
    ) -> list[ScreeningQuestionRead]:
        return await idea_service.set_questions(actor, data)


class ProcessIdeaController(ApiController):
    path = "/api/processes/{process_id:str}"
    tags = ["ideas"]
    dependencies = PROCESS

    @get("/screening", summary="The municipalities' screenings of a process, and their mean")
    async def process_screening(self, idea_service: IdeaServiceDep, process: ProcessDep) -> ProcessScreening:
        return await idea_service.screening(*process)

    @put("/screening", summary="Screen a process for one's municipality (201 new, 200 replaced)")
    async def screen_process(
        self, idea_service: IdeaServiceDep, process: ProcessDep, data: JSONBody[ScreeningWrite]
    ) -> Response[ScreeningRead]:
        read, created = await idea_service.screen(*process, data)
        return Response(read, status_code=201 if created else 200)

    @put("/vote", status_code=200, summary="Vote for a process (anyone signed in)")
    async def vote(self, idea_service: IdeaServiceDep, process: ProcessDep) -> VoteRead:
        return await idea_service.vote(*process, True)

    @delete("/vote", status_code=200, summary="Take one's vote back")
    async def unvote(self, idea_service: IdeaServiceDep, process: ProcessDep) -> VoteRead:
        return await idea_service.vote(*process, False)

    @get("/decisions", summary="What the network has decided about a process")
    async def decisions(self, idea_service: IdeaServiceDep, process: ProcessDep) -> list[DecisionRead]:
        return await idea_service.decisions(*process)

    @post("/decision", summary="Record the network's decision (admin)")
    async def decide(
        self, idea_service: IdeaServiceDep, process: ProcessDep, data: JSONBody[DecisionWrite]
    ) -> DecisionRead:
        return await idea_service.decide(*process, data)
