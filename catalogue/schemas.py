"""msgspec schemas of the catalogue: `XCreate` / `XUpdate` (PATCH: fields default to UNSET) / `XRead`.

Input structs forbid unknown fields. Numbers keep their decimals; nothing is rounded here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

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
Title = Annotated[str, Meta(min_length=1, max_length=120)]
Summary = Annotated[str, Meta(min_length=1, max_length=280)]
Description = Annotated[str, Meta(max_length=20_000)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
TermLabel = Annotated[str, Meta(min_length=1, max_length=100)]
TermList = Annotated[list[TermLabel], Meta(max_length=50)]
LongText = Annotated[str, Meta(max_length=5_000)]
CasesPerYear = Annotated[int, Meta(ge=0, le=100_000_000)]
Minutes = Annotated[float, Meta(ge=0, le=100_000)]
Rate = Annotated[float, Meta(ge=0, le=100)]
Hours = Annotated[float, Meta(ge=0, le=1_000_000)]
Population = Annotated[int, Meta(ge=0, le=10_000_000)]
Alias = Annotated[str, Meta(min_length=1, max_length=100)]
HourlyCost = Annotated[float, Meta(ge=0, le=100_000, description="DKK per hour of a case worker")]

IN = {"forbid_unknown_fields": True, "kw_only": True}


class Contact(Struct, **IN):
    name: Name
    email: Email | None = None


# ---------------------------------------------------------------- municipalities


class MunicipalityCreate(Struct, **IN):
    code: MunicipalityCode
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    cvr: Cvr | None = None
    population: Population | None = None
    member_since: dt.date | None = None
    member_until: dt.date | None = None
    aliases: Annotated[list[Alias], Meta(max_length=20)] = msgspec.field(default_factory=list)
    hourly_cost_dkk: HourlyCost | None = None


class MunicipalityUpdate(Struct, **IN):
    name: Annotated[str, Meta(min_length=1, max_length=100)] | UnsetType = UNSET
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
    personal_data: bool = False
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
    personal_data: bool | UnsetType = UNSET
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
    personal_data: bool
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


class AdoptionRead(Struct, kw_only=True):
    process: str
    process_title: str
    municipality: str
    municipality_name: str
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

    name: Annotated[str, Meta(min_length=1, max_length=200, description="what the token is for")]
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


class BenefitRead(Struct, kw_only=True):
    process: str
    process_title: str
    municipality: str
    municipality_name: str
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
    recorded_by: str | None  # the person who last reported it
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


class BenefitRow(FiguresRead, kw_only=True, omit_defaults=True):
    process: str | None = None
    process_title: str | None = None
    municipality: str | None = None
    municipality_name: str | None = None
    year: int | None = None
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
