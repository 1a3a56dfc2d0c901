"""kept counts of the drafts' term links and of the processes: the vocabulary and the list's total cost the same at
any catalogue size

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 10:00:00

Two counts still grew with the catalogue after 0016: the vocabulary counts took off the links of the drafts a
reader may not see by reading those drafts' links, and the list's `total` counted every visible process. Now:

- Each link knows whether its process is a draft, and whose: `process_terms.draft_owner` (the owner's code, or
  NULL for a network process), kept by triggers when a link is added and when a process's visibility or owner
  changes. The triggers write each change of a draft's link to `term_use_changes` as well, as a row with the
  draft's owner in `draft_owner` (the rows with NULL there are the terms' totals, as in 0016); the background
  jobs fold those into `term_draft_uses` (term, owner, uses).
- A trigger on `processes` writes each process added or removed, and each that becomes or stops being a draft, to
  `process_count_changes` (+1 or -1, with the draft's owner, or '' for the network); the jobs fold them into
  `process_counts` (one row per owner of drafts, and '' for the network's processes).

Writers only insert changes, as in 0016, so no two wait for each other on a count's row. The counts of what
exists now are written once, here. The drafts' own index (0015), which only the vocabulary counts read, goes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# a process's draft owner: its municipality while it is a draft, else NULL (network)
DRAFT_OWNER = "CASE WHEN {p}.visibility = 'municipality' THEN {p}.owner_municipality END"
SQLITE_TRIGGERS = (
    # a new link takes its process's draft owner (SQLite cannot set NEW in a BEFORE trigger: it is updated here,
    # and the update's own trigger below counts it)
    f"""CREATE TRIGGER process_terms_draft_added AFTER INSERT ON process_terms
    WHEN NEW.draft_owner IS NOT (SELECT {DRAFT_OWNER.format(p="processes")} FROM processes
                                 WHERE processes.id = NEW.process_id) BEGIN
        UPDATE process_terms SET draft_owner = (SELECT {DRAFT_OWNER.format(p="processes")} FROM processes
                                                WHERE processes.id = NEW.process_id)
        WHERE process_id = NEW.process_id AND term_id = NEW.term_id;
    END""",
    """CREATE TRIGGER process_terms_draft_inserted AFTER INSERT ON process_terms
    WHEN NEW.draft_owner IS NOT NULL BEGIN
        INSERT INTO term_use_changes (term_id, delta, draft_owner) VALUES (NEW.term_id, 1, NEW.draft_owner);
    END""",
    """CREATE TRIGGER process_terms_draft_moved AFTER UPDATE OF draft_owner, term_id ON process_terms
    WHEN NEW.draft_owner IS NOT OLD.draft_owner OR NEW.term_id <> OLD.term_id BEGIN
        INSERT INTO term_use_changes (term_id, delta, draft_owner)
        SELECT OLD.term_id, -1, OLD.draft_owner WHERE OLD.draft_owner IS NOT NULL
        UNION ALL SELECT NEW.term_id, 1, NEW.draft_owner WHERE NEW.draft_owner IS NOT NULL;
    END""",
    """CREATE TRIGGER process_terms_draft_removed AFTER DELETE ON process_terms
    WHEN OLD.draft_owner IS NOT NULL BEGIN
        INSERT INTO term_use_changes (term_id, delta, draft_owner) VALUES (OLD.term_id, -1, OLD.draft_owner);
    END""",
    f"""CREATE TRIGGER processes_draft_changed AFTER UPDATE OF visibility, owner_municipality ON processes
    WHEN {DRAFT_OWNER.format(p="NEW")} IS NOT {DRAFT_OWNER.format(p="OLD")} BEGIN
        UPDATE process_terms SET draft_owner = {DRAFT_OWNER.format(p="NEW")} WHERE process_id = NEW.id;
        INSERT INTO process_count_changes (draft_owner, delta)
        VALUES (coalesce({DRAFT_OWNER.format(p="OLD")}, ''), -1), (coalesce({DRAFT_OWNER.format(p="NEW")}, ''), 1);
    END""",
    f"""CREATE TRIGGER processes_added AFTER INSERT ON processes BEGIN
        INSERT INTO process_count_changes (draft_owner, delta) VALUES (coalesce({DRAFT_OWNER.format(p="NEW")}, ''), 1);
    END""",
    f"""CREATE TRIGGER processes_removed AFTER DELETE ON processes BEGIN
        INSERT INTO process_count_changes (draft_owner, delta) VALUES (coalesce({DRAFT_OWNER.format(p="OLD")}, ''), -1);
    END""",
)
POSTGRES_TRIGGERS = (
    f"""CREATE FUNCTION process_terms_draft_owner() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.draft_owner := (SELECT {DRAFT_OWNER.format(p="processes")} FROM processes
                            WHERE processes.id = NEW.process_id);
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER process_terms_draft_owner BEFORE INSERT ON process_terms
    FOR EACH ROW EXECUTE FUNCTION process_terms_draft_owner()""",
    """CREATE FUNCTION process_terms_draft_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.draft_owner IS NOT NULL THEN
            INSERT INTO term_use_changes (term_id, delta, draft_owner) VALUES (OLD.term_id, -1, OLD.draft_owner);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.draft_owner IS NOT NULL THEN
            INSERT INTO term_use_changes (term_id, delta, draft_owner) VALUES (NEW.term_id, 1, NEW.draft_owner);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER process_terms_draft_counted AFTER INSERT OR DELETE ON process_terms
    FOR EACH ROW EXECUTE FUNCTION process_terms_draft_changed()""",
    """CREATE TRIGGER process_terms_draft_moved AFTER UPDATE OF draft_owner, term_id ON process_terms
    FOR EACH ROW WHEN (NEW.draft_owner IS DISTINCT FROM OLD.draft_owner OR NEW.term_id <> OLD.term_id)
    EXECUTE FUNCTION process_terms_draft_changed()""",
    f"""CREATE FUNCTION processes_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            UPDATE process_terms SET draft_owner = {DRAFT_OWNER.format(p="NEW")} WHERE process_id = NEW.id;
        END IF;
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            INSERT INTO process_count_changes (draft_owner, delta)
            VALUES (coalesce({DRAFT_OWNER.format(p="OLD")}, ''), -1);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO process_count_changes (draft_owner, delta)
            VALUES (coalesce({DRAFT_OWNER.format(p="NEW")}, ''), 1);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER processes_counted AFTER INSERT OR DELETE ON processes
    FOR EACH ROW EXECUTE FUNCTION processes_counted()""",
    f"""CREATE TRIGGER processes_draft_changed AFTER UPDATE OF visibility, owner_municipality ON processes
    FOR EACH ROW WHEN ({DRAFT_OWNER.format(p="NEW")} IS DISTINCT FROM {DRAFT_OWNER.format(p="OLD")})
    EXECUTE FUNCTION processes_counted()""",
)
SQLITE_DROPPED = (
    "process_terms_draft_added",
    "process_terms_draft_inserted",
    "process_terms_draft_moved",
    "process_terms_draft_removed",
    "processes_draft_changed",
    "processes_added",
    "processes_removed",
)
POSTGRES_DROPPED = (
    ("process_terms_draft_owner", "process_terms"),
    ("process_terms_draft_counted", "process_terms"),
    ("process_terms_draft_moved", "process_terms"),
    ("processes_counted", "processes"),
    ("processes_draft_changed", "processes"),
)


def upgrade() -> None:
    op.add_column("process_terms", sa.Column("draft_owner", sa.String(3), nullable=True))
    op.add_column("term_use_changes", sa.Column("draft_owner", sa.String(3), nullable=True))
    op.create_table(
        "term_draft_uses",
        sa.Column("term_id", sa.Integer(), primary_key=True),
        sa.Column("draft_owner", sa.String(3), primary_key=True),
        sa.Column("uses", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "process_counts",
        sa.Column("draft_owner", sa.String(3), primary_key=True),
        sa.Column("processes", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "process_count_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("draft_owner", sa.String(3), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
    )
    # what exists now, counted once (no trigger of 0016 watches draft_owner: nothing is logged)
    op.execute(
        "UPDATE process_terms SET draft_owner = (SELECT processes.owner_municipality FROM processes "
        "WHERE processes.id = process_terms.process_id AND processes.visibility = 'municipality')"
    )
    op.execute(
        "INSERT INTO term_draft_uses (term_id, draft_owner, uses) SELECT term_id, draft_owner, count(*) "
        "FROM process_terms WHERE draft_owner IS NOT NULL GROUP BY term_id, draft_owner"
    )
    op.execute(
        f"INSERT INTO process_counts (draft_owner, processes) SELECT coalesce({DRAFT_OWNER.format(p='processes')}, "
        f"''), count(*) FROM processes GROUP BY coalesce({DRAFT_OWNER.format(p='processes')}, '')"
    )
    for statement in POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)
    op.drop_index("ix_processes_drafts", table_name="processes")


def downgrade() -> None:
    drafts = sa.text("visibility = 'municipality'")
    op.create_index(
        "ix_processes_drafts",
        "processes",
        ["visibility", "id", "owner_municipality"],
        sqlite_where=drafts,
        postgresql_where=drafts,
    )
    if op.get_bind().dialect.name == "postgresql":
        for name, table in POSTGRES_DROPPED:
            op.execute(f"DROP TRIGGER {name} ON {table}")
        for function in ("process_terms_draft_owner", "process_terms_draft_changed", "processes_counted"):
            op.execute(f"DROP FUNCTION {function}()")
    else:
        for name in SQLITE_DROPPED:
            op.execute(f"DROP TRIGGER {name}")
    # the drafts' changes not folded yet are not the terms' totals (0016 counts every row of term_use_changes)
    op.execute("DELETE FROM term_use_changes WHERE draft_owner IS NOT NULL")
    op.drop_table("process_count_changes")
    op.drop_table("process_counts")
    op.drop_table("term_draft_uses")
    op.execute("ALTER TABLE term_use_changes DROP COLUMN draft_owner")
    op.execute("ALTER TABLE process_terms DROP COLUMN draft_owner")
