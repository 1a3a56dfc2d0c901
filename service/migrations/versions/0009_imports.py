"""imports: external references of processes (an OS2autoproces id), so a second import updates

Revision ID: 0009
Revises: 0010
Create Date: 2026-11-28 22:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('external_refs',
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('process_id', sa.String(length=140), nullable=False),
    sa.ForeignKeyConstraint(['process_id'], ['processes.id'], name=op.f('fk_external_refs_process_id_processes'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source', 'external_id', name=op.f('pk_external_refs'))
    )
    with op.batch_alter_table('external_refs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_refs_process_id'), ['process_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('external_refs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_refs_process_id'))

    op.drop_table('external_refs')
