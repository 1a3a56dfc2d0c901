"""runs: saving rules, runs seen, monthly run figures; benefit record source

Revision ID: 0007
Revises: 0006 (the brief said 0005; 0006_people is on main now)
Create Date: 2026-11-28 21:27:53.076971
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('run_rules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('process_id', sa.String(length=140), nullable=False),
    sa.Column('municipality_code', sa.String(length=3), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('minutes_per_unit', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('run_keys', sa.JSON(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('minutes_per_unit >= 0', name=op.f('ck_run_rules_minutes_per_unit_not_negative')),
    sa.ForeignKeyConstraint(['process_id', 'municipality_code'], ['adoptions.process_id', 'adoptions.municipality_code'], name='fk_run_rules_adoption', onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_rules')),
    sa.UniqueConstraint('process_id', 'municipality_code', name='uq_run_rules_adoption')
    )
    with op.batch_alter_table('run_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_rules_municipality_code'), ['municipality_code'], unique=False)

    op.create_table('run_months',
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('success_runs', sa.Integer(), nullable=False),
    sa.Column('success_units', sa.Integer(), nullable=False),
    sa.Column('failure_runs', sa.Integer(), nullable=False),
    sa.Column('failure_units', sa.Integer(), nullable=False),
    sa.Column('exception_runs', sa.Integer(), nullable=False),
    sa.Column('exception_units', sa.Integer(), nullable=False),
    sa.Column('choice', sa.String(length=10), nullable=True),
    sa.ForeignKeyConstraint(['rule_id'], ['run_rules.id'], name=op.f('fk_run_months_rule_id_run_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('rule_id', 'month', name=op.f('pk_run_months'))
    )
    op.create_table('runs_seen',
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['run_rules.id'], name=op.f('fk_runs_seen_rule_id_run_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('rule_id', 'run_id', name=op.f('pk_runs_seen'))
    )
    with op.batch_alter_table('benefit_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=10), server_default='manual', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('benefit_records', schema=None) as batch_op:
        batch_op.drop_column('source')

    op.drop_table('runs_seen')
    op.drop_table('run_months')
    with op.batch_alter_table('run_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_rules_municipality_code'))

    op.drop_table('run_rules')
