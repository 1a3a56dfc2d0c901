"""indexes for the hot queries: a process's derived and duplicates, the list's order and count, drafts,
vocabulary counts, followers

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 04:00:00

Each of these was read whole before: loading one process looked for the processes derived from it in every row
of `processes`; the list sorted the whole catalogue by title for every page; the vocabulary counts fetched a
`process_terms` row per link; every change asked every follow who follows the process.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_processes_derived_from", "processes", ["derived_from"])
    op.create_index("ix_processes_duplicate_of", "processes", ["duplicate_of"])
    op.create_index("ix_processes_list", "processes", ["title", "id", "visibility", "owner_municipality"])
    drafts = sa.text("visibility = 'municipality'")
    op.create_index(
        "ix_processes_drafts",
        "processes",
        ["visibility", "id", "owner_municipality"], sqlite_where=drafts, postgresql_where=drafts
    )
    op.create_index("ix_processes_created_at", "processes", ["created_at"])
    op.drop_index("ix_process_terms_term_id", table_name="process_terms")
    op.create_index("ix_process_terms_term_id_process_id", "process_terms", ["term_id", "process_id"])
    op.create_index("ix_follows_kind_target", "follows", ["kind", "target"])


def downgrade() -> None:
    op.drop_index("ix_follows_kind_target", table_name="follows")
    op.drop_index("ix_process_terms_term_id_process_id", table_name="process_terms")
    op.create_index("ix_process_terms_term_id", "process_terms", ["term_id"])
    op.drop_index("ix_processes_created_at", table_name="processes")
    op.drop_index("ix_processes_drafts", table_name="processes")
    op.drop_index("ix_processes_list", table_name="processes")
    op.drop_index("ix_processes_duplicate_of", table_name="processes")
    op.drop_index("ix_processes_derived_from", table_name="processes")
