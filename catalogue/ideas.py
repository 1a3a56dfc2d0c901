"""Ideas and the network's joint pipeline: anyone signed in proposes, municipalities screen, people vote,
municipalities mark interest (an adoption), the board ranks, and the network's admins decide.

An idea is a process in phase `idea` (status `active`). The formulas are in catalogue.formulas and the README.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.formulas import (
    ZERO,
    Question,
    expected_hours,
    idea_priority,
    screening_estimate,
    to_decimal,
)
from catalogue.models import Adoption, Decision, Process, ProcessTerm, Screening, ScreeningQuestion, Term, Vote
from catalogue.schemas import (
    DecisionRead,
    DecisionWrite,
    IdeaBoard,
    IdeaProposal,
    IdeaRead,
    ProcessCreate,
    ProcessRead,
    ProcessScreening,
    ProcessUpdate,
    ScreeningQuestionRead,
    ScreeningRead,
    ScreeningWrite,
    VoteRead,
)
from catalogue.services import MunicipalityService, ProcessService, process_options, visible_processes
from catalogue.vocab import term_key
from core.actors import Actor
from core.db import utcnow
from core.errors import Forbidden, Invalid

IDEA_SORTS = ("priority", "votes", "score", "hours", "interest", "newest")

# The network's questionnaire until an admin replaces it: (id, question, help, dimension, weight).
DEFAULT_QUESTIONS = (
    (
        "rule_based",
        "Er processen regelbaseret?",
        "1: mange skøn og vurderinger · 5: faste regler hele vejen",
        "potential",
        2,
    ),
    ("digital_input", "Kommer input digitalt?", "1: papir og telefon · 5: alt kommer digitalt", "potential", 1),
    ("structured_input", "Er input struktureret?", "1: fritekst og bilag · 5: faste felter og skemaer", "potential", 1),
    ("volume", "Hvor mange sager er der?", "1: få om året · 5: mange hver dag", "potential", 2),
    (
        "stability",
        "Er processen og systemerne stabile det næste halve år?",
        "1: store ændringer på vej · 5: ingen kendte ændringer",
        "ease",
        1,
    ),
    (
        "documentation",
        "Er processen dokumenteret?",
        "1: kun i hovedet på en medarbejder · 5: trin og undtagelser beskrevet",
        "ease",
        1,
    ),
)


def screening_read(s: Screening) -> ScreeningRead:
    read = msgspec.convert(s, ScreeningRead, from_attributes=True, strict=False)
    read.effective_score = read.score if read.final_score is None else read.final_score
    return read


def decision_read(d: Decision) -> DecisionRead:
    return msgspec.convert(d, DecisionRead, from_attributes=True)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


class IdeaService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -------------------------------------------------------- proposing

    async def propose(self, actor: Actor, data: IdeaProposal) -> ProcessRead:
        """Anyone signed in with a municipality proposes an idea: a process in phase `idea` owned by their
        municipality (a reader included: the idea is created on their behalf, and history names them)."""
        actor.require_authenticated()
        if not actor.municipality and not actor.is_admin:
            raise Invalid("An idea belongs to a municipality, and you have none; ask an admin.", field="municipality")
        if not actor.municipality:
            raise Invalid(
                "An admin proposes through POST /api/processes with owner_municipality.", field="municipality"
            )
        on_behalf = dataclasses.replace(actor, role="editor")
        text = data.manual_today.strip()
        summary = text if len(text) <= 280 else text[:277].rstrip() + "…"
        body = ProcessCreate(
            title=data.title,
            summary=summary,
            domain=data.domain,
            description=f"## Sådan gøres det i dag\n\n{text}",
            phase="idea",
            systems=list(data.systems),
            cases_per_year=data.cases_per_year,
            minutes_per_case=data.minutes_per_case,
            owner_municipality=actor.municipality,
        )
        return await ProcessService(self.session).create(on_behalf, body)

    # -------------------------------------------------------- screening

    async def _questions(self) -> list[ScreeningQuestion]:
        """The questionnaire an admin set, else the defaults."""
        stmt = select(ScreeningQuestion).order_by(ScreeningQuestion.position, ScreeningQuestion.id)
        stored = list((await self.session.scalars(stmt)).all())
        return stored or [
            ScreeningQuestion(id=i, text=t, help=h, dimension=d, weight=Decimal(w), position=n)
            for n, (i, t, h, d, w) in enumerate(DEFAULT_QUESTIONS, start=1)
        ]

    async def questions(self) -> list[ScreeningQuestionRead]:
        return [
            ScreeningQuestionRead(id=q.id, text=q.text, help=q.help, dimension=q.dimension, weight=float(q.weight))  # type: ignore[arg-type]
            for q in await self._questions()
        ]

    async def set_questions(self, actor: Actor, questions: list[ScreeningQuestionRead]) -> list[ScreeningQuestionRead]:
        """Replace the questionnaire (admin). Screenings already made keep the answers and figures they got."""
        actor.require_admin("change the screening questions")
        ids = [q.id for q in questions]
        if len(set(ids)) != len(ids):
            raise Invalid("Each question needs its own id.", field="id")
        for dimension in ("potential", "ease"):
            if not any(q.dimension == dimension for q in questions):
                raise Invalid(f"At least one question must be about {dimension}.", field="dimension")
        for q in questions:  # what is kept must read back as valid: a text of more than spaces, a weight of 0.01+
            if not q.text.strip():
                raise Invalid(f"Question {q.id!r} needs a text.", field="text")
            if Decimal(str(q.weight)).quantize(Decimal("0.01")) <= 0:  # the column keeps 2 decimals
                raise Invalid(f"Question {q.id!r}: the weight must be at least 0.01.", field="weight")
        await self.session.execute(delete(ScreeningQuestion))
        for position, q in enumerate(questions, start=1):
            self.session.add(
                ScreeningQuestion(
                    id=q.id,
                    text=q.text.strip(),
                    help=(q.help or "").strip() or None,
                    dimension=q.dimension,
                    weight=to_decimal(q.weight),
                    position=position,
                )
            )
        await self.session.flush()
        return await self.questions()

    async def screen(self, actor: Actor, process_id: str, data: ScreeningWrite) -> tuple[ScreeningRead, bool]:
        """One municipality's screening of a process (its editors, or an admin naming the municipality)."""
        actor.require_writer()
        await ProcessService(self.session).get_model(actor, process_id)
        code = data.municipality or actor.municipality
        if not code:
            raise Invalid("municipality: say whose screening this is.", field="municipality")
        await MunicipalityService(self.session).get_model(code)
        if not actor.can_write_for(code):
            raise Forbidden(f"You screen for municipality {actor.municipality}, not {code}.")
        questions = await self._questions()
        known = {q.id for q in questions}
        missing = [q.id for q in questions if q.id not in data.answers]
        unknown = sorted(set(data.answers) - known)
        if unknown:
            raise Invalid(f"answers: no question {', '.join(unknown)}.", field="answers")
        if missing:
            raise Invalid(f"answers: answer every question; missing {', '.join(missing)}.", field="answers")
        estimate = screening_estimate(dict(data.answers), [Question(q.id, q.dimension, q.weight) for q in questions])
        row = await self.session.get(Screening, (process_id, code))
        created = row is None
        if row is None:
            row = Screening(process_id=process_id, municipality_code=code)
            self.session.add(row)
        row.answers = dict(data.answers)
        row.score, row.automation_potential, row.ease = estimate.score, estimate.automation_potential, estimate.ease
        row.final_score = to_decimal(data.final_score)
        row.note = (data.note or "").strip() or None
        row.screened_by, row.screened_at = actor.name, utcnow()
        await self.session.flush()
        return screening_read(row), created

    async def screening(self, actor: Actor, process_id: str) -> ProcessScreening:
        await ProcessService(self.session).get_model(actor, process_id)
        stmt = select(Screening).where(Screening.process_id == process_id).order_by(Screening.municipality_code)
        reads = [screening_read(s) for s in (await self.session.scalars(stmt)).all()]
        return ProcessScreening(
            process=process_id,
            screenings=reads,
            score=_mean([r.effective_score for r in reads]),
            automation_potential=_mean([r.automation_potential for r in reads]),
            ease=_mean([r.ease for r in reads]),
        )

    # -------------------------------------------------------- votes

    async def vote(self, actor: Actor, process_id: str, on: bool) -> VoteRead:
        """Vote for a process (anyone signed in, readers too), or take the vote back. Idempotent."""
        actor.require_authenticated()
        if actor.user_id is None:
            raise Invalid("A vote belongs to a person: sign in, or use a personal token.", field="user")
        await ProcessService(self.session).get_model(actor, process_id)
        existing = await self.session.get(Vote, (process_id, actor.user_id))
        if on and existing is None:
            self.session.add(Vote(process_id=process_id, user_id=actor.user_id, municipality_code=actor.municipality))
        elif not on and existing is not None:
            await self.session.delete(existing)
        await self.session.flush()
        return await self.votes(actor, process_id)

    async def votes(self, actor: Actor, process_id: str) -> VoteRead:
        count = await self.session.scalar(select(func.count()).select_from(Vote).where(Vote.process_id == process_id))
        mine = actor.user_id is not None and await self.session.get(Vote, (process_id, actor.user_id)) is not None
        return VoteRead(process=process_id, votes=int(count or 0), voted=mine)

    # -------------------------------------------------------- decisions

    async def decide(self, actor: Actor, process_id: str, data: DecisionWrite) -> DecisionRead:
        """The network's decision (admin): approve → phase analysis, owned by the building municipality; reject →
        status rejected, with the reason; duplicate → status duplicate of the original. History records it."""
        actor.require_admin("record the network's decisions")
        processes = ProcessService(self.session)
        await processes.get_model(actor, process_id)
        if data.decision == "approve":
            if not data.building_municipality:
                raise Invalid("building_municipality: say which municipality builds it.", field="building_municipality")
            await MunicipalityService(self.session).get_model(data.building_municipality)
            change = ProcessUpdate(phase="analysis", status="active", owner_municipality=data.building_municipality)
        elif data.decision == "reject":
            if not (data.reason or "").strip():
                raise Invalid("reason: say why the network rejects it.", field="reason")
            change = ProcessUpdate(status="rejected")
        else:
            if not data.original or data.original == process_id:
                raise Invalid("original: name the process this one duplicates.", field="original")
            await processes.get_model(actor, data.original)
            change = ProcessUpdate(status="duplicate", duplicate_of=data.original)
        await processes.update(actor, process_id, change)
        row = Decision(
            process_id=process_id,
            decision=data.decision,
            building_municipality=data.building_municipality if data.decision == "approve" else None,
            original=data.original if data.decision == "duplicate" else None,
            reason=(data.reason or "").strip() or None,
            decided_by=actor.name,
            decided_at=utcnow(),
        )
        self.session.add(row)
        await self.session.flush()
        return decision_read(row)

    async def decisions(self, actor: Actor, process_id: str) -> list[DecisionRead]:
        await ProcessService(self.session).get_model(actor, process_id)
        stmt = select(Decision).where(Decision.process_id == process_id).order_by(Decision.decided_at, Decision.id)
        return [decision_read(d) for d in (await self.session.scalars(stmt)).all()]

    # -------------------------------------------------------- the board

    async def board(
        self, actor: Actor, sort: str = "priority", domain: str | None = None, system: str | None = None
    ) -> IdeaBoard:
        """The ideas the caller can see, with interest, votes, screening and combined expected hours, ranked."""
        if sort not in IDEA_SORTS:
            raise Invalid(f"sort: one of {', '.join(IDEA_SORTS)}.", field="sort")
        stmt = (
            select(Process)
            .options(*process_options())
            .where(visible_processes(actor), Process.phase == "idea", Process.status == "active")
        )
        if domain:
            stmt = stmt.where(Process.domain == domain)
        if system:
            with_system = (
                select(ProcessTerm.process_id)
                .join(Term, Term.id == ProcessTerm.term_id)
                .where(Term.kind == "system", Term.key == term_key(system))
            )
            stmt = stmt.where(Process.id.in_(with_system))
        processes = list((await self.session.scalars(stmt)).all())
        ids = [p.id for p in processes]
        if not ids:
            return IdeaBoard(sort=sort, items=[])
        votes = dict(
            (
                await self.session.execute(
                    select(Vote.process_id, func.count()).where(Vote.process_id.in_(ids)).group_by(Vote.process_id)
                )
            ).all()
        )
        adoptions = {p.id: [a for a in p.adoptions if a.status != "stopped"] for p in processes}
        screenings: dict[str, list[Screening]] = {}
        for s in (await self.session.scalars(select(Screening).where(Screening.process_id.in_(ids)))).all():
            screenings.setdefault(s.process_id, []).append(s)
        rows = []
        for p in processes:
            done = screenings.get(p.id, [])
            score = _mean([float(s.final_score if s.final_score is not None else s.score) for s in done])
            potential = _mean([float(s.automation_potential) for s in done])
            hours = sum((self._expected(a, p, potential) for a in adoptions.get(p.id, [])), ZERO)
            rows.append((p, sorted(a.municipality_code for a in adoptions.get(p.id, [])), score, hours))
        most_interested = max((len(codes) for _, codes, _, _ in rows), default=0)
        most_hours = max((h for _, _, _, h in rows), default=ZERO)
        items = []
        for p, codes, score, hours in rows:
            item = msgspec.convert(p, IdeaRead, from_attributes=True)
            item.systems, item.votes, item.interested = p.terms("system"), int(votes.get(p.id, 0)), codes
            item.screening_score, item.combined_expected_hours = score, round(float(hours), 1)
            item.priority = float(idea_priority(len(codes), to_decimal(score), hours, most_interested, most_hours))
            items.append(item)
        keys = {
            "priority": lambda i: (-i.priority, i.title),
            "votes": lambda i: (-i.votes, -i.priority, i.title),
            "score": lambda i: (-(i.screening_score or -1), -i.priority, i.title),
            "hours": lambda i: (-i.combined_expected_hours, -i.priority, i.title),
            "interest": lambda i: (-len(i.interested), -i.priority, i.title),
            "newest": lambda i: (-i.created_at.timestamp(), i.title),
        }
        return IdeaBoard(sort=sort, items=sorted(items, key=keys[sort]))

    @staticmethod
    def _expected(a: Adoption, p: Process, potential: float | None) -> Decimal:
        """A year's expected hours if this municipality adopts the idea: its own figures, else the process's;
        without an automation rate, the screening's automation potential stands in."""
        rate = a.automation_rate if a.automation_rate is not None else p.automation_rate
        if rate is None and potential is not None:
            rate = to_decimal(potential)
        cases = a.cases_per_year if a.cases_per_year is not None else p.cases_per_year
        minutes = a.minutes_per_case if a.minutes_per_case is not None else p.minutes_per_case
        return expected_hours(cases, minutes, rate) or ZERO
