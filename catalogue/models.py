"""SQLAlchemy models of the catalogue. Relationships never lazy-load: load what you need explicitly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow


def adoption_key(name: str) -> ForeignKeyConstraint:
    """(process_id, municipality_code) → the adoption; the row goes with the adoption."""
    return ForeignKeyConstraint(
        ["process_id", "municipality_code"],
        ["adoptions.process_id", "adoptions.municipality_code"],
        ondelete="CASCADE",
        onupdate="CASCADE",
        name=name,
    )


class Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)  # set by the services


class Municipality(Timestamps, Base):
    __tablename__ = "municipalities"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    cvr: Mapped[str | None] = mapped_column(String(8))
    population: Mapped[int | None] = mapped_column(Integer)
    member_since: Mapped[dt.date | None] = mapped_column(Date)
    member_until: Mapped[dt.date | None] = mapped_column(Date)
    aliases: Mapped[list[Any]] = mapped_column(JSON, default=list)
    hourly_cost_dkk: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # empty: the network default


class Term(Base):
    """One word of a normalised vocabulary (systems, technologies, tags)."""

    __tablename__ = "terms"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_terms_kind_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(100))
    # its links, but for the changes in `term_use_changes` not yet folded in (kept by a trigger: migration 0016)
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class TermUseChange(Base):
    """A link of a term added (+1) or removed (-1), written by a trigger on `process_terms` (migration 0016) and
    folded into `Term.uses` by the background jobs. Writers only insert here, so no two wait for each other.
    A row with a `draft_owner` (migration 0017) is a change of a draft's links instead, that municipality's: it is
    folded into `TermDraftUse`."""

    __tablename__ = "term_use_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    term_id: Mapped[int] = mapped_column(Integer)
    delta: Mapped[int] = mapped_column(Integer)
    draft_owner: Mapped[str | None] = mapped_column(String(3))


class TermDraftUse(Base):
    """How many drafts of one municipality link a term, but for the changes in `term_use_changes` not yet folded in
    (migration 0017): the vocabulary counts take off the drafts a reader may not see without reading them."""

    __tablename__ = "term_draft_uses"

    term_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_owner: Mapped[str] = mapped_column(String(3), primary_key=True)
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ProcessCount(Base):
    """How many processes there are: the network's (`draft_owner` '') and each municipality's drafts, but for the
    changes in `process_count_changes` not yet folded in (kept by a trigger on `processes`, migration 0017)."""

    __tablename__ = "process_counts"

    draft_owner: Mapped[str] = mapped_column(String(3), primary_key=True)
    processes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ProcessCountChange(Base):
    """A process added (+1) or removed (-1), or one that became or stopped being a draft, written by a trigger on
    `processes` (migration 0017) and folded into `ProcessCount` by the background jobs."""

    __tablename__ = "process_count_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draft_owner: Mapped[str] = mapped_column(String(3))
    delta: Mapped[int] = mapped_column(Integer)


class ProcessTerm(Base):
    __tablename__ = "process_terms"
    # a term's processes straight from the index (the vocabulary counts read no process_terms row)
    __table_args__ = (Index("ix_process_terms_term_id_process_id", "term_id", "process_id"),)

    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True
    )
    term_id: Mapped[int] = mapped_column(ForeignKey("terms.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # the process's owner while it is a draft, else NULL: set and kept by the database's triggers (migration 0017),
    # never by the code
    draft_owner: Mapped[str | None] = mapped_column(String(3))

    term: Mapped[Term] = relationship(lazy="raise")


class Process(Timestamps, Base):
    __tablename__ = "processes"
    __table_args__ = (
        CheckConstraint("automation_rate >= 0 AND automation_rate <= 100", name="automation_rate_range"),
        # The list's order (ORDER BY title, id): a page at any offset is read in index order, never sorted whole;
        # with the visibility and the owner in it, the list's filter and its count read no row. (No index leads
        # with visibility: SQLite, which keeps no statistics here, would prefer it and sort every network process.)
        Index("ix_processes_list", "title", "id", "visibility", "owner_municipality"),
        Index("ix_processes_created_at", "created_at"),  # the front page's newest
    )

    id: Mapped[str] = mapped_column(String(140), primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(280))
    description: Mapped[str] = mapped_column(Text, default="")
    domain: Mapped[str] = mapped_column(String(30), index=True)
    kle: Mapped[str | None] = mapped_column(String(8))
    phase: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    duplicate_of: Mapped[str | None] = mapped_column(ForeignKey("processes.id", ondelete="SET NULL"), index=True)
    owner_municipality: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    legal_basis: Mapped[str | None] = mapped_column(Text)
    personal_data: Mapped[bool | None] = mapped_column(Boolean, default=None)  # None: not stated ("Ikke oplyst")
    dpia_done: Mapped[bool] = mapped_column(Boolean, default=False)
    cases_per_year: Mapped[int | None] = mapped_column(Integer)
    minutes_per_case: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    automation_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    build_hours: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    derived_from: Mapped[str | None] = mapped_column(ForeignKey("processes.id", ondelete="SET NULL"), index=True)
    visibility: Mapped[str] = mapped_column(String(20), default="network")
    version: Mapped[int] = mapped_column(Integer, default=1)

    term_links: Mapped[list[ProcessTerm]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by=ProcessTerm.position
    )
    adoptions: Mapped[list[Adoption]] = relationship(lazy="raise", cascade="all, delete-orphan", passive_deletes=True)
    # The reuse lineage the other way round: processes whose derived_from is this one (read only). Unordered, so
    # that they are looked up by the derived_from index, not read in id order through the whole table.
    derived_processes: Mapped[list[Process]] = relationship(foreign_keys=[derived_from], lazy="raise", viewonly=True)

    # The version is set by the service once per change (not per flush) and still guards every UPDATE
    # with "WHERE version = <the version read>", so concurrent writers cannot overwrite each other.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    def terms(self, kind: str) -> list[str]:
        return [link.term.label for link in self.term_links if link.term.kind == kind]


class Adoption(Timestamps, Base):
    """A municipality runs (or plans to run) a process."""

    __tablename__ = "adoptions"
    __table_args__ = (CheckConstraint("automation_rate >= 0 AND automation_rate <= 100", name="automation_rate_range"),)

    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True
    )
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(20))
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    live_on: Mapped[dt.date | None] = mapped_column(Date)
    bot_repo: Mapped[str | None] = mapped_column(String(500))
    bot_ref: Mapped[str | None] = mapped_column(String(200))
    # the slug of a registered bot; the code bank owns the link (its foreign key is declared in codebank.models,
    # and the code bank unlinks it when the bot is deleted): the catalogue does not reach into the code bank
    bot_slug: Mapped[str | None] = mapped_column(String(100), index=True)
    cases_per_year: Mapped[int | None] = mapped_column(Integer)
    minutes_per_case: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    automation_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    notes: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    recorded_by: Mapped[str | None] = mapped_column(String(200))  # the person who last registered it
    recorded_by_user_id: Mapped[int | None] = mapped_column(Integer)  # users are deactivated, never deleted


class ExternalRef(Base):
    """A process's id in another catalogue (e.g. OS2autoproces), so a second import updates instead of
    duplicating it."""

    __tablename__ = "external_refs"

    source: Mapped[str] = mapped_column(String(30), primary_key=True)  # "os2autoproces"
    external_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE", onupdate="CASCADE"), index=True
    )


class ProcessRevision(Base):
    """One change of a process: who, when, and each field's old and new value."""

    __tablename__ = "process_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE", onupdate="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))  # the person's name (or the token's, for a bootstrap token)
    user_id: Mapped[int | None] = mapped_column(Integer)  # users are deactivated, never deleted
    action: Mapped[str] = mapped_column(String(20))
    changes: Mapped[list[Any]] = mapped_column(JSON, default=list)


class User(Base):
    """A person: signed in through the municipality's OpenID Connect provider (issuer + subject) or made by an
    admin. `session_epoch` grows when the person is deactivated or changed, ending every session at once."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_users_issuer_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipalities.code"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    issuer: Mapped[str | None] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(String(255))
    # "groups": the provider's group claims decide the role at each sign-in; "admin": an admin set it by hand
    role_source: Mapped[str] = mapped_column(String(10), default="groups")
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PageSession(Base):
    """A signed-in browser. The session cookie names it; signing out ends it here, so a copied cookie is dead."""

    __tablename__ = "page_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the SHA-256 of the cookie's random id
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """An API token. Only the SHA-256 of the secret is kept. A personal token belongs to a person (`user_id`)
    and never grants more than that person has; a bootstrap token from the CLI stands alone."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipalities.code"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)  # users are deactivated, never deleted
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # a personal token asked with a narrower role keeps it; otherwise it follows its owner's role as it changes
    narrowed: Mapped[bool | None] = mapped_column(Boolean)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class BenefitRecord(Timestamps, Base):
    """Realised benefit of one adoption in one period (`2024`, `2024-Q2` or `2024-05`).

    `minutes_saved_per_case` may be empty: the adoption's, then the process's minutes per case are used.
    """

    __tablename__ = "benefit_records"
    __table_args__ = (
        adoption_key("fk_benefit_records_adoption"),
        UniqueConstraint("process_id", "municipality_code", "period", name="uq_benefit_records_adoption_period"),
        CheckConstraint("cases_handled >= 0", name="cases_handled_not_negative"),
        CheckConstraint("minutes_saved_per_case >= 0", name="minutes_saved_not_negative"),
        CheckConstraint("baseline_minutes >= 0", name="baseline_minutes_not_negative"),
        CheckConstraint("running_cost_dkk >= 0", name="running_cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[str] = mapped_column(String(140))
    municipality_code: Mapped[str] = mapped_column(String(3), index=True)
    period: Mapped[str] = mapped_column(String(7))
    cases_handled: Mapped[int] = mapped_column(Integer)
    minutes_saved_per_case: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    baseline_minutes: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    running_cost_dkk: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    budget_realised: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    # KL's qualitative benefits beside time and money: 1–5 each, with a note
    quality: Mapped[int | None] = mapped_column(Integer)
    work_environment: Mapped[int | None] = mapped_column(Integer)
    citizen_experience: Mapped[int | None] = mapped_column(Integer)
    qualitative_note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(200))  # the person who last reported it
    recorded_by_user_id: Mapped[int | None] = mapped_column(Integer)  # users are deactivated, never deleted
    # "manual": typed in by a person; "runs": computed from the adoption's run data (catalogue.runs)
    source: Mapped[str] = mapped_column(String(10), default="manual", server_default="manual")


# ---------------------------------------------------------------- ideas: screening, votes, decisions


class ScreeningQuestion(Base):
    """One question of the screening: answered 1–5, weighted, about automation potential or ease."""

    __tablename__ = "screening_questions"

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    text: Mapped[str] = mapped_column(String(300))
    help: Mapped[str | None] = mapped_column(Text)
    dimension: Mapped[str] = mapped_column(String(20))  # "potential" | "ease"
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    position: Mapped[int] = mapped_column(Integer)


class Screening(Base):
    """One municipality's screening of a process: its answers, the computed estimate and an optional final
    value that overrides it (both kept)."""

    __tablename__ = "screenings"

    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True
    )
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), primary_key=True)
    answers: Mapped[dict[str, int]] = mapped_column(JSON)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    automation_potential: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    ease: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    final_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    note: Mapped[str | None] = mapped_column(Text)
    screened_by: Mapped[str] = mapped_column(String(200))
    screened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Vote(Base):
    """A person's vote for a process (an idea the network should build)."""

    __tablename__ = "votes"

    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    municipality_code: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Decision(Base):
    """What the network decided about an idea: build it (and who builds), reject it, or a duplicate."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE", onupdate="CASCADE"), index=True
    )
    decision: Mapped[str] = mapped_column(String(20))  # "approve" | "reject" | "duplicate"
    building_municipality: Mapped[str | None] = mapped_column(String(3))
    original: Mapped[str | None] = mapped_column(String(140))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RunRule(Timestamps, Base):
    """The saving rule of one adoption: what one unit is (`run` or `item`), the minutes one successful unit
    saves (empty: the adoption's, then the process's minutes per case) and the names that identify the
    adoption's runs in its orchestrator (`run_keys`). Made with defaults when the first runs arrive."""

    __tablename__ = "run_rules"
    __table_args__ = (
        adoption_key("fk_run_rules_adoption"),
        UniqueConstraint("process_id", "municipality_code", name="uq_run_rules_adoption"),
        CheckConstraint("minutes_per_unit >= 0", name="minutes_per_unit_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[str] = mapped_column(String(140))
    municipality_code: Mapped[str] = mapped_column(String(3), index=True)
    unit: Mapped[str] = mapped_column(String(10), default="run")
    minutes_per_unit: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    run_keys: Mapped[list[Any]] = mapped_column(JSON, default=list)


class RunSeen(Base):
    """One run (or queue item) already counted: only what idempotency needs (the rule and the orchestrator's
    id). The figures live in `RunMonth`."""

    __tablename__ = "runs_seen"

    rule_id: Mapped[int] = mapped_column(ForeignKey("run_rules.id", ondelete="CASCADE"), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(200), primary_key=True)


class RunMonth(Base):
    """The runs of one adoption in one calendar month (Danish time), by outcome. `choice` records what the
    user chose when a month reported by hand also has runs: `runs` or `manual` (empty: not chosen)."""

    __tablename__ = "run_months"

    rule_id: Mapped[int] = mapped_column(ForeignKey("run_rules.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    success_runs: Mapped[int] = mapped_column(Integer, default=0)
    success_units: Mapped[int] = mapped_column(Integer, default=0)
    failure_runs: Mapped[int] = mapped_column(Integer, default=0)
    failure_units: Mapped[int] = mapped_column(Integer, default=0)
    exception_runs: Mapped[int] = mapped_column(Integer, default=0)
    exception_units: Mapped[int] = mapped_column(Integer, default=0)
    choice: Mapped[str | None] = mapped_column(String(10))


# ---------------------------------------------------------------- follow, notify, comment, attach


class Follow(Base):
    """A person follows a process, a bot or a municipality. `muted`: the person unfollowed something they would
    follow automatically (their municipality's own adoptions)."""

    __tablename__ = "follows"
    __table_args__ = (Index("ix_follows_kind_target", "kind", "target"),)  # who follows this (every change asks)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # process | bot | municipality
    target: Mapped[str] = mapped_column(String(140), primary_key=True)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Notification(Base):
    """Something a person should hear about. `key` makes a notification once only (e.g. a missing month)."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_notifications_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500))
    key: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class NotificationPreference(Base):
    """How a person wants to hear: e-mail `off`, `immediate` or `daily`; the SHA-256 of their feed token."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(20), default="immediate")
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class Comment(Base):
    """A comment on a process or a bot; an answer names its parent (one level deep)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_target", "target_kind", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target_kind: Mapped[str] = mapped_column(String(20))  # process | bot
    target_id: Mapped[str] = mapped_column(String(140))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    author_name: Mapped[str] = mapped_column(String(200))
    municipality_code: Mapped[str | None] = mapped_column(String(3))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ProcessDocument(Base):
    """A document of a process, kept in the database (so every instance and every backup has it). `visibility`
    `municipality`: only the uploader's municipality (and admins) see it."""

    __tablename__ = "process_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE", onupdate="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    visibility: Mapped[str] = mapped_column(String(20), default="network")
    municipality_code: Mapped[str | None] = mapped_column(String(3))
    uploaded_by: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    text: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[bytes] = mapped_column(LargeBinary(), deferred=True)


class Webhook(Base):
    """An outbound webhook: events are POSTed to `url`, signed with HMAC-SHA256 of `secret`."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    municipality_code: Mapped[str | None] = mapped_column(String(3))  # None: the network's (an admin's)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookAttempt(Base):
    """One event for one webhook and how its delivery went (the delivery log)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
