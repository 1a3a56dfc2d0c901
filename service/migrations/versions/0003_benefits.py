"""benefits: realised benefit records per adoption and period; a municipality's hourly cost

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:42:55.516195
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('benefit_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('process_id', sa.String(length=140), nullable=False),
    sa.Column('municipality_code', sa.String(length=3), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('cases_handled', sa.Integer(), nullable=False),
    sa.Column('minutes_saved_per_case', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('baseline_minutes', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('running_cost_dkk', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('budget_realised', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('baseline_minutes >= 0', name=op.f('ck_benefit_records_baseline_minutes_not_negative')),
    sa.CheckConstraint('cases_handled >= 0', name=op.f('ck_benefit_records_cases_handled_not_negative')),
    sa.CheckConstraint('minutes_saved_per_case >= 0', name=op.f('ck_benefit_records_minutes_saved_not_negative')),
    sa.CheckConstraint('running_cost_dkk >= 0', name=op.f('ck_benefit_records_running_cost_not_negative')),
    sa.ForeignKeyConstraint(['process_id', 'municipality_code'], ['adoptions.process_id', 'adoptions.municipality_code'], name='fk_benefit_records_adoption', onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_records')),
    sa.UniqueConstraint('process_id', 'municipality_code', 'period', name='uq_benefit_records_adoption_period')
    )
    with op.batch_alter_table('benefit_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benefit_records_municipality_code'), ['municipality_code'], unique=False)

    with op.batch_alter_table('municipalities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hourly_cost_dkk', sa.Numeric(precision=10, scale=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('municipalities', schema=None) as batch_op:
        batch_op.drop_column('hourly_cost_dkk')

    with op.batch_alter_table('benefit_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benefit_records_municipality_code'))

    op.drop_table('benefit_records')
