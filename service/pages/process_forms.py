"""Describing and changing processes on the pages: a new process (with likely duplicates while typing), editing
protected by the version (a conflict shows both versions side by side), copying to one's own municipality,
marking a duplicate, retiring and deleting. Each goes through the same services as the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from catalogue.reuse import ProcessCopy, ReuseService
from catalogue.schemas import ProcessCreate, ProcessRead, ProcessUpdate
from catalogue.services import MunicipalityService, ProcessService
from catalogue.vocab import DOMAINS, PHASES, STATUSES
from core.actors import Actor
from core.errors import Conflict, DomainError, Forbidden, PreconditionFailed
from search.documents import SearchQuery
from service.controllers.params import ProcessIdPath
from service.deps import ActorDep, DbDep, IndexerDep, ProcessServiceDep
from service.indexing import Indexer, viewer_for
from service.pages.common import Form, FormErrors, page, require_signed_in
from service.pages.forms import Field, domain_errors, form_values, parse_form, posted_values, to_struct
from service.reuse import similar_processes

VISIBILITY = {"network": "Hele netværket", "municipality": "Kun min kommune (kladde)"}
TITLE_MAX = 120

DESCRIBE = (
    Field(
        "title",
        "Titel",
        required=True,
        max_length=TITLE_MAX,
        help="Et kort navn på opgaven, som en kollega vil søge efter.",
    ),
    Field(
        "summary",
        "Resumé",
        required=True,
        max_length=280,
        help="Én eller to sætninger: hvad gør robotten, og for hvem?",
    ),
    Field(
        "description",
        "Beskrivelse",
        max_length=20_000,
        help="Baggrund, trin, undtagelser og erfaringer. Markdown: ## overskrift, **fed**, - punktliste.",
    ),
    Field("domain", "Område", "choice", required=True, choices=DOMAINS, help="Det fagområde, processen hører til."),
    Field(
        "kle",
        "KLE-nummer",
        pattern=r"\d{2}\.\d{2}\.\d{2}",
        pattern_message="KLE-nummer skal skrives som 00.00.00, fx 27.24.00.",
        help="Opgavens nummer i KL's emnesystematik, fx 27.24.00 (kan udelades).",
    ),
    Field("phase", "Fase", "choice", required=True, choices=PHASES, help="Hvor langt processen er: fra idé til drift."),
)
VOCABULARY = (
    Field(
        "systems", "IT-systemer", "terms", help="Et system i hvert felt; forslagene er systemer, andre allerede bruger."
    ),
    Field("technologies", "Teknologier", "terms", help="Fx UiPath, Power Automate eller Python."),
    Field("tags", "Emneord", "terms", help="Ord, der hjælper andre med at finde processen."),
)
CONTACT = (
    Field("contact_name", "Kontaktperson", max_length=200, help="Hvem andre kan spørge om processen."),
    Field("contact_email", "Kontaktpersonens e-mail", "email"),
)
FIGURES = (
    Field("cases_per_year", "Sager pr. år", "int", minimum=0, maximum=100_000_000, help="Fx 1.200."),
    Field(
        "minutes_per_case", "Minutter pr. sag", "decimal", minimum=0, maximum=100_000, help="I hånden i dag, fx 5,5."
    ),
    Field(
        "automation_rate",
        "Automatiseringsgrad",
        "percent",
        minimum=0,
        maximum=100,
        help="Andel af sagerne robotten klarer, fx 75 %.",
    ),
    Field(
        "build_hours",
        "Udviklingstimer",
        "decimal",
        minimum=0,
        maximum=1_000_000,
        help="Timer brugt på at bygge robotten.",
    ),
)
PERSONAL_DATA = {"ja": "Ja", "nej": "Nej"}  # the form's values; none chosen is None in the API ("Ikke oplyst")
PERSONAL_DATA_VALUES: dict[str, bool] = {"ja": True, "nej": False}
COMPLIANCE = (
    Field("legal_basis", "Hjemmel", max_length=5_000, help="Lov eller regel, der giver lov til behandlingen."),
    Field(
        "personal_data",
        "Behandler personoplysninger",
        "choice",
        choices=PERSONAL_DATA,
        empty="Ikke oplyst",
        help="Vælg »Ikke oplyst«, hvis det ikke er afklaret endnu.",
    ),
    Field("dpia_done", "Konsekvensanalyse (DPIA) er udført", "bool"),
    Field(
        "visibility", "Synlighed", "choice", required=True, choices=VISIBILITY, help="En kladde ses kun af din kommune."
    ),
)
STATUS = Field(
    "status",
    "Status",
    "choice",
    required=True,
    choices={k: v for k, v in STATUSES.items() if k != "duplicate"},
    help="Brug „Markér som dublet“ på processens side for at pege på originalen.",
)
GROUPS = {
    "Processen": DESCRIBE,
    "Systemer og emneord": VOCABULARY,
    "Tal": FIGURES,
    "Kontakt": CONTACT,
    "Jura og synlighed": COMPLIANCE,
}
FIELDS = tuple(f for group in GROUPS.values() for f in group)
EDIT_FIELDS = (*FIELDS, STATUS)
# The domain's refusals, in Danish, by the field they name
REFUSALS = {
    "owner_municipality": "Vælg en kommune, der findes.",
    "duplicate_of": "Vælg en proces, du kan se, og som ikke er processen selv.",
    "derived_from": "Processen, den er afledt af, findes ikke længere.",
    "title": "Titlen skal indeholde andet end mellemrum.",
    "summary": "Resuméet skal indeholde andet end mellemrum.",
}


def process_body(values: dict[str, Any]) -> dict[str, Any]:
    """The parsed form as the API's body: the contact is one object."""
    body = {k: v for k, v in values.items() if k not in ("contact_name", "contact_email")}
    if "personal_data" in body:
        body["personal_data"] = PERSONAL_DATA_VALUES.get(body["personal_data"] or "")
    if "description" in body:
        body["description"] = body["description"] or ""
    name, email = values.get("contact_name"), values.get("contact_email")
    if email and not name:
        raise FormErrors({"contact_name": "Skriv kontaktpersonens navn, når du angiver en e-mail."})
    body["contact"] = {"name": name, **({"email": email} if email else {})} if name else None
    return body


def shown(process: ProcessRead) -> dict[str, Any]:
    """A process as the edit form shows it."""
    values = msgspec.structs.asdict(process)
    values["personal_data"] = (
        {True: "ja", False: "nej"}.get(process.personal_data) if process.personal_data is not None else ""
    )
    contact = process.contact
    values.update(contact_name=contact.name if contact else "", contact_email=(contact.email or "") if contact else "")
    return form_values(values, EDIT_FIELDS)


def display(f: Field, value: Any) -> str:
    """A form value as the conflict view reads it."""
    if f.kind == "terms":
        return ", ".join(value) or "–"
    if f.kind == "bool":
        return "Ja" if value else "Nej"
    if f.kind == "choice" and f.choices:
        return f.choices.get(value, value) or "–"
    return str(value) if value not in (None, "") else "–"


def compare(mine: dict[str, Any], theirs: dict[str, Any]) -> list[tuple[Field, str, str, bool]]:
    """Field by field: (field, mine shown, theirs shown, differs)."""
    rows = []
    for f in EDIT_FIELDS:
        a, b = display(f, mine.get(f.name)), display(f, theirs.get(f.name))
        rows.append((f, a, b, a != b))
    return rows


def copy_title(title: str, municipality: str) -> str:
    """ "Title (kopi fra Greve)", the original shortened (with …) when the whole would be too long."""
    suffix = f" (kopi fra {municipality})"
    if len(title) + len(suffix) <= TITLE_MAX:
        return title + suffix
    return title[: TITLE_MAX - len(suffix) - 1].rstrip() + "…" + suffix


@dataclass(frozen=True)
class ProcessForms:
    """What the process forms read from and write through."""

    processes: ProcessService
    indexer: Indexer

    @property
    def municipalities(self) -> MunicipalityService:
        return MunicipalityService(self.processes.session)

    @property
    def reuse(self) -> ReuseService:
        return ReuseService(self.processes.session)

    async def vocabulary(self, actor: Actor) -> dict[str, Any]:
        kinds = {"systems": "system", "technologies": "technology", "tags": "tag"}
        return {name: (await self.processes.term_counts(actor, kind))[:200] for name, kind in kinds.items()}

    async def form_page(
        self,
        actor: Actor,
        *,
        process: ProcessRead | None,
        values: dict[str, Any],
        conflict: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        return page(
            "process_form.html",
            actor,
            nav="new" if process is None else "search",
            status=status,
            process=process,
            groups=GROUPS,
            status_field=STATUS,
            values=values,
            errors=errors or {},
            suggestions=await self.vocabulary(actor),
            municipalities=await self.municipalities.all() if actor.is_admin else [],
            conflict=conflict,
        )

    async def editable(self, actor: Actor, process_id: str) -> ProcessRead:
        """The process, when `actor` may change it (403 for anyone else who can see it)."""
        process = await self.processes.get(actor, process_id)
        actor.require_writer()
        actor.require_write_for(process.owner_municipality, "that process")
        return process

    async def search(self, actor: Actor, process: ProcessRead, q: str) -> list[ProcessRead]:
        """Candidates for the original of `process`: the search's answer to `q`, or its likely duplicates."""
        if not q.strip():
            similar = await similar_processes(
                self.indexer, self.processes.session, actor, process.title, process.summary, exclude=[process.id]
            )
            return await self.processes.get_many(actor, [s.id for s in similar])
        try:
            result = await self.indexer.search(
                SearchQuery(text=q[:200], filters={"type": "process"}, viewer=viewer_for(actor), limit=15)
            )
        except Exception:
            return []
        return await self.processes.get_many(actor, [h.id for h in result.hits if h.id != process.id])


def provide_process_forms(process_service: ProcessServiceDep, indexer: IndexerDep) -> ProcessForms:
    return ProcessForms(process_service, indexer)


ProcessFormsDep = NamedDependency[ProcessForms]


def confirm(
    actor: Actor, process: ProcessRead, action: str, *, errors: dict[str, str] | None = None, status: int = 200
) -> Template:
    return page(
        "process_confirm.html", actor, status=status, nav="search", process=process, action=action, errors=errors or {}
    )


REFUSED = {
    "stale": "Processen er ændret af en anden i mellemtiden. Se den nye udgave og bekræft igen.",
    "duplicates": "Andre processer er markeret som dubletter af denne. Peg dem på en anden først.",
}


async def confirmable(actor: Actor, forms: ProcessForms, process_id: str, action: str) -> ProcessRead:
    """The process, when `actor` may retire it (the owner's editors) or delete it (admins)."""
    if action == "delete":
        actor.require_admin("delete processes")
        return await forms.processes.get(actor, process_id)
    return await forms.editable(actor, process_id)


class ProcessFormPages(Controller):
    dependencies = {"forms": Provide(provide_process_forms, sync_to_thread=False)}

    @get("/processes/new", name="new_process")
    async def new(self, actor: ActorDep, forms: ProcessFormsDep) -> Template | Redirect:
        if (redirect := require_signed_in(actor, "/processes/new")) is not None:
            return redirect
        actor.require_writer()
        values = form_values({"phase": "idea", "visibility": "network"}, FIELDS)
        return await forms.form_page(actor, process=None, values=values)

    @post("/processes/new", status_code=303)
    async def create(self, actor: ActorDep, forms: ProcessFormsDep, db: DbDep, data: Form) -> Template | Redirect:
        if (redirect := require_signed_in(actor, "/processes/new")) is not None:
            return redirect
        actor.require_writer()
        owner_field = Field("owner_municipality", "Ejer", "choice", required=True)
        try:
            body = process_body(parse_form(data, (*FIELDS, owner_field) if actor.is_admin else FIELDS))
            created = await forms.processes.create(actor, to_struct(body, ProcessCreate, FIELDS))
        except (FormErrors, DomainError) as exc:
            await db.rollback()
            errors = exc.errors if isinstance(exc, FormErrors) else domain_errors(exc, FIELDS, REFUSALS).errors
            values = posted_values(data, (*FIELDS, owner_field))
            return await forms.form_page(actor, process=None, values=values, errors=errors, status=422)
        return Redirect(path=f"/processes/{created.id}?gemt=proces", status_code=303)

    @get("/processes/new/similar")
    async def similar(
        self,
        actor: ActorDep,
        forms: ProcessFormsDep,
        title: FromQuery[str] = "",
        summary: FromQuery[str] = "",
        exclude: FromQuery[str] = "",
    ) -> Template:
        """Likely duplicates while the title and summary are typed (HTMX): the same ranking as the API's
        `possible_duplicates`."""
        found = (
            await similar_processes(
                forms.indexer, forms.processes.session, actor, title[:120], summary[:280], exclude=[exclude], limit=5
            )
            if title.strip()
            else []
        )
        return Template(template_name="partials/similar.html", context={"similar": found})

    @get("/processes/{process_id:str}/edit", name="edit_process")
    async def edit(self, actor: ActorDep, forms: ProcessFormsDep, process_id: ProcessIdPath) -> Template | Redirect:
        if (redirect := require_signed_in(actor, f"/processes/{process_id}/edit")) is not None:
            return redirect
        process = await forms.editable(actor, process_id)
        return await forms.form_page(actor, process=process, values={**shown(process), "version": process.version})

    @post("/processes/{process_id:str}/edit", status_code=303)
    async def save(
        self, actor: ActorDep, forms: ProcessFormsDep, db: DbDep, process_id: ProcessIdPath, data: Form
    ) -> Template | Redirect:
        if (redirect := require_signed_in(actor, f"/processes/{process_id}/edit")) is not None:
            return redirect
        process = await forms.editable(actor, process_id)
        mine = {**posted_values(data, EDIT_FIELDS), "version": data.get("version") or ""}
        if process.status == "duplicate":
            mine["status"] = process.status  # not on the form: a duplicate keeps its status here
        fields = EDIT_FIELDS if process.status != "duplicate" else FIELDS  # a duplicate keeps its status here
        try:
            if not (data.get("version") or "").isdigit():
                raise FormErrors({"": "Formularen mangler processens version. Genindlæs siden og prøv igen."})
            body = process_body(parse_form(data, fields))
            update = to_struct(body, ProcessUpdate, EDIT_FIELDS)
            await forms.processes.update(actor, process_id, update, f'"{data["version"]}"')
        except PreconditionFailed:
            await db.rollback()
            current = await forms.processes.get(actor, process_id)
            history = await forms.processes.history(actor, process_id)
            since = [r for r in history.revisions if r.version > int(data["version"])]
            conflict = {
                "rows": compare(mine, shown(current)),
                "current": current,
                "since": since,
                "base": int(data["version"]),
            }
            values = {**mine, "version": current.version}  # theirs, on top of the new version
            return await forms.form_page(actor, process=current, values=values, conflict=conflict, status=409)
        except (FormErrors, DomainError) as exc:
            await db.rollback()
            errors = exc.errors if isinstance(exc, FormErrors) else domain_errors(exc, EDIT_FIELDS, REFUSALS).errors
            return await forms.form_page(actor, process=process, values=mine, errors=errors, status=422)
        return Redirect(path=f"/processes/{process_id}?gemt=proces", status_code=303)

    @post("/processes/{process_id:str}/copy", status_code=303)
    async def copy(
        self, actor: ActorDep, forms: ProcessFormsDep, db: DbDep, process_id: ProcessIdPath, data: Form
    ) -> Redirect:
        """A copy for the editor's municipality (an admin names it): phase idea, linked back to the original."""
        if (redirect := require_signed_in(actor, f"/processes/{process_id}")) is not None:
            return redirect
        actor.require_writer()
        source = await forms.processes.get(actor, process_id)
        owner = await forms.municipalities.get(source.owner_municipality)
        target = actor.municipality or (data.get("municipality") or "").strip() or None
        if target is None:
            raise Forbidden("Choose the municipality the copy is for.")
        change = ProcessCopy(title=copy_title(source.title, owner.name), phase="idea", owner_municipality=target)
        copy = await forms.reuse.copy(actor, process_id, change)
        return Redirect(path=f"/processes/{copy.id}?gemt=kopi", status_code=303)

    @get("/processes/{process_id:str}/duplicate")
    async def duplicate_form(
        self, actor: ActorDep, forms: ProcessFormsDep, process_id: ProcessIdPath, q: FromQuery[str] = ""
    ) -> Template | Redirect:
        if (redirect := require_signed_in(actor, f"/processes/{process_id}/duplicate")) is not None:
            return redirect
        process = await forms.editable(actor, process_id)
        return page(
            "process_duplicate.html",
            actor,
            nav="search",
            process=process,
            q=q,
            candidates=await forms.search(actor, process, q),
            errors={},
        )

    @post("/processes/{process_id:str}/duplicate", status_code=303)
    async def mark_duplicate(
        self, actor: ActorDep, forms: ProcessFormsDep, process_id: ProcessIdPath, data: Form
    ) -> Template | Redirect:
        original = (data.get("original") or "").strip()  # the process it duplicates
        if (redirect := require_signed_in(actor, f"/processes/{process_id}/duplicate")) is not None:
            return redirect
        process = await forms.editable(actor, process_id)
        try:
            if not original:
                raise FormErrors({"original": "Vælg den proces, den er en dublet af."})
            change = ProcessUpdate(status="duplicate", duplicate_of=original)
            await forms.processes.update(actor, process_id, change, f'"{data.get("version") or ""}"')
        except (FormErrors, DomainError) as exc:
            await forms.processes.session.rollback()
            errors = (
                exc.errors
                if isinstance(exc, FormErrors)
                else {"original": "Processen er ændret af en anden i mellemtiden: vælg igen."}
                if isinstance(exc, PreconditionFailed)
                else {"original": REFUSALS["duplicate_of"]}
            )
            process = await forms.processes.get(actor, process_id)
            return page(
                "process_duplicate.html",
                actor,
                status=409 if isinstance(exc, PreconditionFailed) else 422,
                nav="search",
                process=process,
                q="",
                candidates=await forms.search(actor, process, ""),
                errors=errors,
            )
        return Redirect(path=f"/processes/{process_id}?gemt=dublet", status_code=303)

    @get(["/processes/{process_id:str}/retire", "/processes/{process_id:str}/delete"])
    async def confirm_form(
        self, request: Request[Any, Any, Any], actor: ActorDep, forms: ProcessFormsDep, process_id: ProcessIdPath
    ) -> Template | Redirect:
        """Asks before retiring (the owner's editors) or deleting (admins) a process."""
        action = request.url.path.rsplit("/", 1)[1]
        if (redirect := require_signed_in(actor, f"/processes/{process_id}/{action}")) is not None:
            return redirect
        return confirm(actor, await confirmable(actor, forms, process_id, action), action)

    @post(["/processes/{process_id:str}/retire", "/processes/{process_id:str}/delete"], status_code=303)
    async def confirmed(
        self,
        request: Request[Any, Any, Any],
        actor: ActorDep,
        forms: ProcessFormsDep,
        db: DbDep,
        process_id: ProcessIdPath,
        data: Form,
    ) -> Template | Redirect:
        """Retires or deletes once confirmed; the version confirmed must still be the current one."""
        action = request.url.path.rsplit("/", 1)[1]
        if (redirect := require_signed_in(actor, f"/processes/{process_id}/{action}")) is not None:
            return redirect
        await confirmable(actor, forms, process_id, action)
        try:
            if action == "delete":
                await forms.processes.delete(actor, process_id)
            else:
                change = ProcessUpdate(phase="retired")
                await forms.processes.update(actor, process_id, change, f'"{data.get("version")}"')
        except (Conflict, PreconditionFailed) as exc:
            await db.rollback()
            refusal = REFUSED["stale" if isinstance(exc, PreconditionFailed) else "duplicates"]
            process = await forms.processes.get(actor, process_id)
            return confirm(actor, process, action, errors={"": refusal}, status=409)
        done = "/search?slettet=1" if action == "delete" else f"/processes/{process_id}?gemt=udfaset"
        return Redirect(path=done, status_code=303)
