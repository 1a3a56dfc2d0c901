"""personal data may be unknown

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 02:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # None: the process's description does not say whether it handles personal data ("Ikke oplyst")
    with op.batch_alter_table("processes") as batch:
        batch.alter_column("personal_data", existing_type=sa.Boolean(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE processes SET personal_data = false WHERE personal_data IS NULL")
    with op.batch_alter_table("processes") as batch:
        batch.alter_column("personal_data", existing_type=sa.Boolean(), nullable=False)
