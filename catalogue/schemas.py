"""msgspec schemas of the catalogue: `XCreate` / `XUpdate` (PATCH: fields default to UNSET) / `XRead`.

Input structs forbid unknown fields. Numbers keep their decimals; nothing is rounded here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from catalogue.vocab import AdoptionStatus, Domain, Phase, Role, Status, Visibility

MunicipalityCode = Annotated[
    str, Meta(pattern=r"^\d{3}$", description="3-digit Danish municipality code", examples=["253"])
]
Cvr = Annotated[str, Meta(pattern=r"^\d{8}$", description="8-digit CVR number")]
Kle = Annotated[
    str, Meta(pattern=r"^\d{2}\.\d{2}\.\d{2}$", description="KLE task code dd.dd.dd", examples=["27.24.00"])
]
ProcessId = Annotated[str, Meta(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=140)]
# Text a person typed: no control characters but tab and line breaks (they break spreadsheets and some databases)
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_CONTROL_PATTERN = "matching regex '" + TEXT + "'"


def readable(message: str) -> str:
    """A msgspec validation message a person understands (the API's 422s and `rpabank import` say the same)."""
    if _CONTROL_PATTERN in message.replace("\\\\", "\\"):
        return "control characters are not allowed (only tab and line breaks)"
    if "with a timezone component" in message:
        return "needs a time zone (e.g. 2024-05-01T10:00:00Z)"
    return message


Title = Annotated[str, Meta(min_length=1, max_length=120, pattern=TEXT)]
Summary = Annotated[str, Meta(min_length=1, max_length=280, pattern=TEXT)]
Description = Annotated[str, Meta(max_length=20_000, pattern=TEXT)]
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=TEXT)]
Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
TermLabel = Annotated[str, Meta(min_length=1, max_length=100, pattern=TEXT)]
TermList = Annotated[list[TermLabel], Meta(max_length=50)]
LongText = Annotated[str, Meta(max_length=5_000, pattern=TEXT)]
CasesPerYear = Annotated[int, Meta(ge=0, le=100_000_000)]
Minutes = Annotated[float, Meta(ge=0, le=100_000)]
Rate = Annotated[float, Meta(ge=0, le=100)]
Hours = Annotated[float, Meta(ge=0, le=1_000_000)]
Population = Annotated[int, Meta(ge=0, le=10_000_000)]
Alias = Annotated[str, Meta(min_length=1, max_length=100, pattern=TEXT)]
MunicipalityName = Annotated[str, Meta(min_length=1, max_length=100, pattern=TEXT)]
HourlyCost = Annotated[float, Meta(ge=0, le=100_000, description="DKK per hour of a case worker")]

IN = {"forbid_unknown_fields": True, "kw_only": True}


class Contact(Struct, **IN):
    name: Name
    email: Email | None = None


# ---------------------------------------------------------------- municipalities


class MunicipalityCreate(Struct, **IN):
    code: MunicipalityCode
    name: MunicipalityName
    cvr: Cvr | None = None
    population: Population | None = None
    member_since: dt.date | None = None
    member_until: dt.date | None = None
    aliases: Annotated[list[Alias], Meta(max_length=20)] = msgspec.field(default_factory=list)
    hourly_cost_dkk: HourlyCost | None = None


class MunicipalityUpdate(Struct, **IN):
    name: MunicipalityName | UnsetType = UNSET
    cvr: Cvr | None | UnsetType = UNSET
    population: Population | None | UnsetType = UNSET
    member_since: dt.date | None | UnsetType = UNSET
    member_until: dt.date | None | UnsetType = UNSET
    aliases: Annotated[list[Alias], Meta(max_length=20)] | UnsetType = UNSET
    hourly_cost_dkk: HourlyCost | None | UnsetType = UNSET


class MunicipalityRead(Struct, kw_only=True):
    code: str
    name: str
    cvr: str | None
    population: int | None
    member_since: dt.date | None
    member_until: dt.date | None
    is_member: bool
    aliases: list[str]
    hourly_cost_dkk: float | None  # empty: the network default (RPABANK_HOURLY_COST_DKK) is used
    created_at: dt.datetime
    updated_at: dt.datetime


# ---------------------------------------------------------------- processes


class ProcessCreate(Struct, **IN):
    title: Title
    summary: Summary
    domain: Domain
    description: Description = ""
    kle: Kle | None = None
    phase: Phase = "idea"
    status: Status = "active"
    duplicate_of: ProcessId | None = None
    systems: TermList = msgspec.field(default_factory=list)
    technologies: TermList = msgspec.field(default_factory=list)
    tags: TermList = msgspec.field(default_factory=list)
    owner_municipality: MunicipalityCode | None = None
    contact: Contact | None = None
    legal_basis: LongText | None = None
    personal_data: bool | None = None  # None: not stated
    dpia_done: bool = False
    cases_per_year: CasesPerYear | None = None
    minutes_per_case: Minutes | None = None
    automation_rate: Rate | None = None
    build_hours: Hours | None = None
    derived_from: ProcessId | None = None
    visibility: Visibility = "network"


class ProcessUpdate(Struct, **IN):
    title: Title | UnsetType = UNSET
    summary: Summary | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    domain: Domain | UnsetType = UNSET
    kle: Kle | None | UnsetType = UNSET
    phase: Phase | UnsetType = UNSET
    status: Status | UnsetType = UNSET
    duplicate_of: ProcessId | None | UnsetType = UNSET
    systems: TermList | UnsetType = UNSET
    technologies: TermList | UnsetType = UNSET
    tags: TermList | UnsetType = UNSET
    owner_municipality: MunicipalityCode | UnsetType = UNSET
    contact: Contact | None | UnsetType = UNSET
    legal_basis: LongText | None | UnsetType = UNSET
    personal_data: bool | None | UnsetType = UNSET
    dpia_done: bool | UnsetType = UNSET
    cases_per_year: CasesPerYear | None | UnsetType = UNSET
    minutes_per_case: Minutes | None | UnsetType = UNSET
    automation_rate: Rate | None | UnsetType = UNSET
    build_hours: Hours | None | UnsetType = UNSET
    derived_from: ProcessId | None | UnsetType = UNSET
    visibility: Visibility | UnsetType = UNSET


class ProcessRead(Struct, kw_only=True):
    id: str
    title: str
    summary: str
    description: str
    domain: str
    domain_label: str
    kle: str | None
    phase: str
    phase_label: str
    status: str
    status_label: str
    duplicate_of: str | None
    systems: list[str]
    technologies: list[str]
    tags: list[str]
    owner_municipality: str
    contact: Contact | None
    legal_basis: str | None
    personal_data: bool | None
    dpia_done: bool
    cases_per_year: int | None
    minutes_per_case: float | None
    automation_rate: float | None
    build_hours: float | None
    expected_hours_per_year: float | None
    derived_from: str | None
    derived: list[str]  # ids of the (network-visible) processes derived from this one
    visibility: str
    adoption_count: int
    adopted_by: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class ProcessPage(Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    items: list[ProcessRead]
    total_approximate: bool = False  # with `q`: more than 1,000 matches, `total` is an estimate (see Search)


class FieldChange(Struct, kw_only=True):
    field: str
    old: object
    new: object


class Revision(Struct, kw_only=True):
    version: int
    changed_at: dt.datetime
    actor: str
    action: str
    changes: list[FieldChange]


class ProcessHistory(Struct, kw_only=True):
    process: str
    revisions: list[Revision]


class TermCount(Struct, kw_only=True):
    key: str
    label: str
    count: int


# ---------------------------------------------------------------- adoptions


class BotRef(Struct, **IN):
    """The bot an adoption runs: a registered bot's slug or URL (its ref is then checked), or any repository."""

    repo: Annotated[str, Meta(min_length=1, max_length=500)]
    ref: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    slug: str | None = None  # filled in by the bank when `repo` is a registered bot


class AdoptionWrite(Struct, **IN):
    """The whole adoption: PUT replaces it."""

    status: AdoptionStatus
    started_on: dt.date | None = None
    live_on: dt.date | None = None
    bot: BotRef | None = None
    cases_per_year: CasesPerYear | None = None
    minutes_per_case: Minutes | None = None
    automation_rate: Rate | None = None
    notes: LongText | None = None
    contact: Contact | None = None


class AdoptionNamed(Struct, kw_only=True):
    """The start of every read about one adoption: the process and the municipality, by id and by name."""

    process: str
    process_title: str
    municipality: str
    municipality_name: str


class AdoptionRead(AdoptionNamed, kw_only=True):
    status: str
    status_label: str
    started_on: dt.date | None
    live_on: dt.date | None
    bot: BotRef | None
    cases_per_year: int | None
    minutes_per_case: float | None
    automation_rate: float | None
    expected_hours_per_year: float | None
    notes: str | None
    contact: Contact | None
    recorded_by: str | None  # the person who last registered it
    created_at: dt.datetime
    updated_at: dt.datetime


# ---------------------------------------------------------------- people and tokens


class TokenRead(Struct, kw_only=True):
    id: int
    name: str
    role: Role
    municipality_code: str | None = msgspec.field(name="municipality")
    user_id: int | None  # the person the token acts for; None for a bootstrap token made by the CLI
    owner: str | None = None  # that person's name
    follows_owner: bool = False  # a personal token without a narrower role has its owner's role, as it changes
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreate(Struct, forbid_unknown_fields=True, kw_only=True):
    """A personal token for a machine (a bot reporting runs, a script): never more than its owner may do."""

    name: Annotated[str, Meta(min_length=1, max_length=200, pattern=TEXT, description="what the token is for")]
    expires_at: dt.datetime | None = None
    role: Role | None = None  # narrower than one's own role; unset: one's own


class TokenCreated(Struct, kw_only=True):
    token: str  # the secret: shown once, kept only as a hash
    record: TokenRead


class UserRead(Struct, kw_only=True):
    id: int
    name: str
    email: str | None
    municipality_code: str | None = msgspec.field(name="municipality")
    role: Role
    active: bool
    role_source: str  # "groups": the sign-in provider's groups decide; "admin": set by hand
    created_at: dt.datetime
    last_login_at: dt.datetime | None


class UserUpdate(Struct, forbid_unknown_fields=True, kw_only=True):
    role: Role | UnsetType = UNSET
    municipality: MunicipalityCode | None | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class MeRead(Struct, kw_only=True):
    name: str
    email: str | None
    municipality: str | None
    role: str
    auth: str  # "session", "token" or "admin-token"
    user_id: int | None


# ---------------------------------------------------------------- benefits

OneToFive = Annotated[int, Meta(ge=1, le=5)]
CasesHandled = Annotated[int, Meta(ge=0, le=10_000_000, description="cases the robot handled in the period")]
MinutesPerCase = Annotated[float, Meta(ge=0, le=10_000, description="minutes; at most 2 decimals")]
Dkk = Annotated[float, Meta(ge=0, le=1_000_000_000, description="DKK; at most 2 decimals")]


class BenefitWrite(Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole record of one period: PUT replaces it."""

    cases_handled: CasesHandled
    minutes_saved_per_case: MinutesPerCase | None = None
    baseline_minutes: MinutesPerCase | None = None
    running_cost_dkk: Dkk | None = None
    budget_realised: bool = False
    note: LongText | None = None
    # KL's qualitative benefits, 1–5 each (1: much worse, 3: unchanged, 5: much better), with a note
    quality: OneToFive | None = None
    work_environment: OneToFive | None = None
    citizen_experience: OneToFive | None = None
    qualitative_note: LongText | None = None


class BenefitRead(AdoptionNamed, kw_only=True):
    period: str
    period_kind: str
    period_start: dt.date
    period_end: dt.date
    cases_handled: int
    minutes_saved_per_case: float | None  # the minutes used: the record's, else the adoption's or process's
    minutes_saved_per_case_from: str | None  # "record", "adoption" or "process"
    baseline_minutes: float | None
    running_cost_dkk: float | None
    budget_realised: bool
    note: str | None
    quality: int | None
    work_environment: int | None
    citizen_experience: int | None
    qualitative_note: str | None
    recorded_by: str | None  # the person who last reported it
    source: str  # "manual": typed in by a person; "runs": computed from the adoption's run data
    hourly_cost_dkk: float
    realised_hours: float
    hours_saved: float  # the same as realised_hours
    dkk_saved: float
    fte: float
    net_dkk: float
    created_at: dt.datetime
    updated_at: dt.datetime


class FiguresRead(Struct, kw_only=True):
    expected_hours: float
    realised_hours: float
    realised_hours_runs: float  # the part computed from run data (records with source "runs")
    realisation_pct: float | None
    expected_dkk: float
    dkk_saved: float
    running_cost_dkk: float
    net_dkk: float
    budget_realised_dkk: float
    fte: float
    adopters: int
    avoided_build_hours: float
    records: int
    quality: float | None = None  # means of the qualitative answers (1–5) given
    work_environment: float | None = None
    citizen_experience: float | None = None


class BenefitRow(FiguresRead, kw_only=True, omit_defaults=True):
    process: str | None = None
    process_title: str | None = None
    municipality: str | None = None
    municipality_name: str | None = None
    year: int | None = None
    month: str | None = None
    domain: str | None = None
    domain_label: str | None = None


class BenefitSettingsRead(Struct, kw_only=True):
    hourly_cost_dkk: float
    annual_hours: float


class BenefitSummary(Struct, kw_only=True):
    group_by: str
    from_: str | None = msgspec.field(name="from")
    to: str | None
    settings: BenefitSettingsRead
    rows: list[BenefitRow]
    totals: FiguresRead


@dataclass(frozen=True)
class BenefitFilters:
    process: str | None = None
    municipality: str | None = None
    domain: str | None = None
    first: str | None = None  # the `from` period
    last: str | None = None  # the `to` period


# ---------------------------------------------------------------- ideas: screening, votes, decisions

Dimension = Literal["potential", "ease"]
DecisionKind = Literal["approve", "reject", "duplicate"]
Percent = Annotated[float, Meta(ge=0, le=100)]


class ScreeningQuestionRead(Struct, kw_only=True):
    id: Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
    text: Annotated[str, Meta(min_length=1, max_length=300, pattern=TEXT)]
    help: Annotated[str, Meta(max_length=1000, pattern=TEXT)] | None = None
    dimension: Dimension
    weight: Annotated[float, Meta(gt=0, le=10)] = 1.0


class ScreeningWrite(Struct, forbid_unknown_fields=True, kw_only=True):
    answers: dict[str, OneToFive]
    final_score: Percent | None = None  # overrides the estimate; both are kept
    note: LongText | None = None
    municipality: MunicipalityCode | None = None  # whose screening (an admin must say; others: their own)


class ScreeningRead(Struct, kw_only=True):
    process_id: str = msgspec.field(name="process")
    municipality_code: str = msgspec.field(name="municipality")
    answers: dict[str, int]
    score: float
    automation_potential: float
    ease: float
    final_score: float | None
    effective_score: float = 0.0  # the final value when given, else the estimate
    note: str | None
    screened_by: str
    screened_at: dt.datetime


class ProcessScreening(Struct, kw_only=True):
    process: str
    screenings: list[ScreeningRead]
    score: float | None  # the mean of the municipalities' effective scores
    automation_potential: float | None
    ease: float | None


class VoteRead(Struct, kw_only=True):
    process: str
    votes: int
    voted: bool  # by the caller


class DecisionWrite(Struct, forbid_unknown_fields=True, kw_only=True):
    decision: DecisionKind
    building_municipality: MunicipalityCode | None = None  # approve: who builds it for the network
    reason: LongText | None = None  # reject: why
    original: ProcessId | None = None  # duplicate: of which process


class DecisionRead(Struct, kw_only=True):
    id: int
    process_id: str = msgspec.field(name="process")
    decision: str
    building_municipality: str | None
    original: str | None
    reason: str | None
    decided_by: str
    decided_at: dt.datetime


class IdeaRead(Struct, kw_only=True):
    id: str
    title: str
    summary: str
    owner_municipality: str
    domain: str
    created_at: dt.datetime
    systems: list[str] = []
    votes: int = 0
    interested: list[str] = []  # municipality codes with an adoption (not stopped)
    screening_score: float | None = None
    combined_expected_hours: float = 0.0  # a year, if every interested municipality adopts it
    priority: float = 0.0


class IdeaBoard(Struct, kw_only=True):
    sort: str
    items: list[IdeaRead]


class IdeaProposal(Struct, forbid_unknown_fields=True, kw_only=True):
    """The short idea form: what is done by hand today, how often, how long, which systems."""

    title: Title
    domain: Domain
    manual_today: Annotated[str, Meta(min_length=1, max_length=5_000, pattern=TEXT)]
    cases_per_year: CasesPerYear | None = None
    minutes_per_case: Minutes | None = None
    systems: TermList = []


# ---------------------------------------------------------------- runs (realised benefits from run data)

RunUnit = Literal["run", "item"]
RunOutcome = Literal["success", "failure", "business_exception"]
RunKey = Annotated[str, Meta(min_length=1, max_length=200, pattern=TEXT, description="a flow, queue or process name")]


class RunRuleWrite(Struct, forbid_unknown_fields=True, kw_only=True):
    """The saving rule of an adoption: PUT replaces it."""

    unit: RunUnit = "run"
    minutes_per_unit: MinutesPerCase | None = None
    run_keys: Annotated[list[RunKey], Meta(max_length=50)] = msgspec.field(default_factory=list)


class RunRuleRead(Struct, kw_only=True):
    process: str
    municipality: str
    unit: str
    minutes_per_unit: float | None  # as set; empty: the adoption's, then the process's minutes per case
    minutes_used: float | None
    minutes_from: str | None  # "rule", "adoption" or "process"
    run_keys: list[str]


class RunIn(Struct, forbid_unknown_fields=True, kw_only=True):
    id: Annotated[
        str, Meta(min_length=1, max_length=200, pattern=TEXT, description="the orchestrator's run or item id")
    ]
    ended_at: dt.datetime
    outcome: RunOutcome
    units: Annotated[int, Meta(ge=1, le=10_000)] = 1


class RunPush(Struct, forbid_unknown_fields=True, kw_only=True):
    runs: Annotated[list[RunIn], Meta(max_length=10_000)]


class RunPushResult(Struct, kw_only=True):
    accepted: int
    duplicates: int
    periods: list[str]


class ManualFigures(Struct, kw_only=True):
    period: str
    cases_handled: int
    realised_hours: float
    dkk_saved: float


class RunMonthRead(Struct, kw_only=True):
    month: str
    runs: int
    success_runs: int
    failure_runs: int
    business_exception_runs: int
    success_units: int
    failure_units: int
    business_exception_units: int
    success_rate: float | None  # successful runs / runs × 100
    runs_hours: float  # what the runs saved: successful units × minutes per unit / 60
    runs_dkk: float
    record_source: str | None  # the benefit record that counts for the month: "runs", "manual" or none
    manual: ManualFigures | None  # a record typed in by hand that covers the month
    conflict: bool  # a hand-typed record and runs for the same month, and nobody has chosen
    choice: str | None  # "runs" or "manual" once chosen


class RunOverview(Struct, kw_only=True):
    rule: RunRuleRead
    months: list[RunMonthRead]
    success_rate: float | None


class RunChoice(Struct, forbid_unknown_fields=True, kw_only=True):
    use: Literal["runs", "manual"]


class RunImportCell(Struct, kw_only=True):
    column: str | None
    field: str
    message: str


class RunImportRow(Struct, kw_only=True):
    row: int
    action: str  # "error" or "ignore" (rows accepted or seen before are counted, not listed)
    id: str | None
    errors: list[RunImportCell]


class RunImportAdoption(Struct, kw_only=True):
    process: str
    municipality: str
    accepted: int
    duplicates: int
    periods: list[str]


class RunImportReport(Struct, kw_only=True):
    kind: str  # "runs"
    format: str
    dry_run: bool
    written: bool
    summary: dict[str, int]  # accept, duplicate, ignore, error
    rows: list[RunImportRow]
    rows_left_out: int  # problem rows beyond the first 1000 are counted, not listed
    periods: list[str]
    adoptions: list[RunImportAdoption]


class MissingFigures(AdoptionNamed, kw_only=True):
    live_on: dt.date | None
    missing: list[str]  # completed months without a benefit record


# ---------------------------------------------------------------- imports from spreadsheets

ImportKind = Literal["processes", "adoptions", "benefits"]
ImportAction = Literal["create", "update", "unchanged", "error"]


class CellIssue(Struct, kw_only=True):
    column: str | None  # the spreadsheet's column letter, when one cell is at fault
    field: str | None  # our field
    message: str


class ImportRow(Struct, kw_only=True, omit_defaults=True):
    row: int  # the row number as the spreadsheet shows it
    action: ImportAction
    id: str | None = None  # the process (processes) or "process/municipality[/period]"
    errors: list[CellIssue] = []
    cells: dict[str, str] = {}  # column letter → the value as read (only for the preview page)


class ImportSummary(Struct, kw_only=True):
    create: int = 0
    update: int = 0
    unchanged: int = 0
    error: int = 0


class ImportColumn(Struct, kw_only=True):
    column: str
    header: str
    field: str | None  # None: not imported (see `ignored_columns` / `unknown_columns`)


class ImportReport(Struct, kw_only=True):
    kind: ImportKind
    format: Literal["rpabank", "os2autoproces", "generic"]
    sheet: str
    dry_run: bool
    written: bool  # true only when every row was valid and the changes are saved
    summary: ImportSummary
    rows: list[ImportRow]
    columns: list[ImportColumn] = []
    ignored_columns: list[str] = []  # known, but not imported (computed figures, or no place in our model)
    unknown_columns: list[str] = []  # headers nobody knows: give a `mapping` to import them


# ---------------------------------------------------------------- follow, notify, comment, attach

FollowKind = Literal["process", "bot", "municipality"]
EmailMode = Literal["off", "immediate", "daily"]
CommentBody = Annotated[str, Meta(min_length=1, max_length=10_000, pattern=TEXT)]
DocumentKind = Literal["process_design", "solution_design", "dpia", "business_case", "operations_guide", "other"]
WebhookEvent = Literal["process.changed", "process.adopted", "bot.version", "comment.created", "document.added", "*"]


class FollowRead(Struct, kw_only=True):
    kind: str
    id: str
    title: str
    automatic: bool  # an editor's municipality's own adoption, followed without asking


class NotificationRead(Struct, kw_only=True):
    id: int
    kind: str
    title: str
    url: str
    created_at: dt.datetime
    read: bool


class NotificationList(Struct, kw_only=True):
    unread: int
    items: list[NotificationRead]


class NotificationsMarkRead(Struct, forbid_unknown_fields=True, kw_only=True):
    ids: Annotated[list[int], Meta(max_length=1000)] | None = None  # None: all


class NotificationPrefs(Struct, kw_only=True):
    email: str  # off | immediate | daily
    feed: bool  # a feed token exists


class NotificationPrefsWrite(Struct, forbid_unknown_fields=True, kw_only=True):
    email: EmailMode


class FeedCreated(Struct, kw_only=True):
    url: str  # /feeds/<token>.atom: shown once


class CommentCreate(Struct, forbid_unknown_fields=True, kw_only=True):
    body: CommentBody  # Markdown
    parent: int | None = None  # an answer to this comment (one level deep)


class CommentUpdate(Struct, forbid_unknown_fields=True, kw_only=True):
    body: CommentBody


class CommentRead(Struct, kw_only=True):
    id: int
    target_kind: str
    target_id: str
    parent: int | None
    author: str
    user_id: int
    municipality: str | None
    municipality_name: str | None
    body: str
    html: str  # the body rendered by the safe Markdown renderer
    created_at: dt.datetime
    edited_at: dt.datetime | None
    answers: list[CommentRead] = msgspec.field(default_factory=list)


class DocumentRead(Struct, kw_only=True):
    id: int
    process: str
    kind: str
    title: str
    filename: str
    content_type: str
    size: int
    visibility: str
    municipality: str | None
    uploaded_by: str
    created_at: dt.datetime
    has_text: bool
    url: str  # the download


class WebhookCreate(Struct, forbid_unknown_fields=True, kw_only=True):
    url: Annotated[str, Meta(min_length=8, max_length=500, pattern=r"^https?://[^\s]+$")]
    secret: Annotated[str, Meta(min_length=16, max_length=200, pattern=TEXT)]
    events: Annotated[list[WebhookEvent], Meta(min_length=1, max_length=10)]
    municipality: MunicipalityCode | None = None  # an admin may make one for a municipality


class WebhookRead(Struct, kw_only=True):
    id: int
    url: str
    events: list[str]
    municipality: str | None
    created_by: str
    created_at: dt.datetime


class WebhookDeliveryRead(Struct, kw_only=True):
    id: int
    event: str
    status: str  # pending | delivered | failed
    attempts: int
    response_status: int | None
    error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    payload: dict[str, object]
