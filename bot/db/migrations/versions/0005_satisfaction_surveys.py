"""Buyer satisfaction (满意度): one survey row per ended case, asked once, with the buyer's answer.

New table only; nothing existing changes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 23:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('satisfaction_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('buyer_id', sa.String(length=64), nullable=False),
    sa.Column('order_number', sa.String(length=32), nullable=True),
    sa.Column('intent', sa.String(length=40), nullable=False),
    sa.Column('resolution_kind', sa.String(length=40), nullable=False),
    sa.Column('resolver', sa.String(length=8), nullable=False),
    sa.Column('resolved_by', sa.String(length=80), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rating', sa.String(length=16), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("rating IN ('satisfied', 'neutral', 'unsatisfied')",
                       name=op.f('ck_satisfaction_surveys_rating')),
    sa.CheckConstraint("resolver IN ('bot', 'agent')", name=op.f('ck_satisfaction_surveys_resolver')),
    sa.ForeignKeyConstraint(['case_id'], ['aftersales_cases.id'],
                            name=op.f('fk_satisfaction_surveys_case_id_aftersales_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_satisfaction_surveys')),
    sa.UniqueConstraint('case_id', name=op.f('uq_satisfaction_surveys_case_id'))
    )
    op.create_index('ix_satisfaction_surveys_asked_at', 'satisfaction_surveys', ['asked_at'], unique=False)
    op.create_index(op.f('ix_satisfaction_surveys_conversation_id'), 'satisfaction_surveys', ['conversation_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_satisfaction_surveys_conversation_id'), table_name='satisfaction_surveys')
    op.drop_index('ix_satisfaction_surveys_asked_at', table_name='satisfaction_surveys')
    op.drop_table('satisfaction_surveys')
